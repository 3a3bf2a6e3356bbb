import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, apiEnvSchema, parseConfig } from '@mp/config';

describe('API configuration', () => {
  it('lists every bad key in one error and never echoes values', () => {
    let error: unknown;
    try {
      parseConfig(apiEnvSchema, {
        REDIS_URL: 'redis://127.0.0.1:6379',
        JWT_SECRET: 'too-short-secret',
        PORT: 'eighty',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const key of ['DATABASE_URL', 'JWT_SECRET', 'PORT']) expect(message).toContain(key);
    expect(message).not.toContain('too-short-secret');
    expect((error as ConfigError).issues.map((i) => i.key).sort()).toEqual(['DATABASE_URL', 'JWT_SECRET', 'PORT']);
  });

  it('main.ts prints the listing and exits 1 before connecting anywhere', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'services/api/src/main.ts'], {
      env: { PATH: process.env.PATH, JWT_SECRET: 'short' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(1);
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) expect(res.stderr).toContain(key);
  });
});
