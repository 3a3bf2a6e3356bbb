import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensurePostgres,
  ensureRedis,
  findFreePort,
  hasDockerEngine,
  isReachable,
  redisPing,
  stopLocalRedis,
  startLocalRedis,
} from '../../scripts/lib/services.mjs';

let tempDir: string;

beforeAll(() => {
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'mp-provisioning-'));
  chmodSync(tempDir, 0o755); // the postgres system user must reach the cluster folder inside
});

afterAll(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

/** Running and not a zombie (a daemon's exit is reaped by init, sometimes a second later). */
const isPidAlive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('ports', () => {
  it('findFreePort returns a port this process can bind', async () => {
    const port = await findFreePort();
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(port).toBeGreaterThan(0);
  });

  it('findFreePort falls back when the preferred port is taken', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const taken = (server.address() as net.AddressInfo).port;
    try {
      const port = await findFreePort(taken);
      expect(port).not.toBe(taken);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('isReachable is false for a closed port', async () => {
    const port = await findFreePort();
    expect(await isReachable('127.0.0.1', port, 500)).toBe(false);
  });
});

describe('docker detection', () => {
  it('answers false here within a bounded time', async () => {
    const started = Date.now();
    const answer = await hasDockerEngine({ timeoutMs: 3000 });
    expect(Date.now() - started).toBeLessThan(5000);
    // This machine has the docker CLI but no engine; elsewhere an engine may answer.
    if (process.env.EXPECT_DOCKER !== '1') expect(answer).toBe(false);
  });
});

describe('local Redis', () => {
  it('starts in a folder on a free port, answers PING, and stops by its pid file', async () => {
    const dir = path.join(tempDir, 'redis');
    const port = await findFreePort();
    const server = await startLocalRedis({ dir, port, persistent: false });
    expect(server.url).toBe(`redis://127.0.0.1:${port}`);
    expect(await redisPing({ port })).toBe(true);
    const pid = Number(readFileSync(path.join(dir, 'redis.pid'), 'utf8'));
    expect(isPidAlive(pid)).toBe(true);

    await stopLocalRedis({ dir });
    expect(isPidAlive(pid)).toBe(false);
    expect(await isReachable('127.0.0.1', port, 500)).toBe(false);
  });

  it('ensureRedis uses a given URL when it answers', async () => {
    const given = process.env.REDIS_URL as string;
    const handle = await ensureRedis({ url: given, local: { dir: path.join(tempDir, 'unused'), port: 0 } });
    expect(handle).toMatchObject({ url: given, source: 'given' });
    await handle.stop(); // a no-op for given services
    expect(await redisPing({ port: Number(new URL(given).port) })).toBe(true);
  });
});

describe('local PostgreSQL', () => {
  it('falls back to a local cluster when the URL is unreachable and no Docker engine answers, then stops', async () => {
    const closed = await findFreePort();
    const dockerTried: string[] = [];
    const handle = await ensurePostgres({
      url: `postgresql://postgres@127.0.0.1:${closed}/postgres`,
      docker: {
        available: async () => false,
        start: async () => {
          dockerTried.push('start');
          throw new Error('not reached');
        },
      },
      local: { dir: path.join(tempDir, 'pg'), port: 0, persistent: false },
    });
    try {
      expect(handle.source).toBe('local');
      expect(dockerTried).toEqual([]);
      const client = new pg.Client({ connectionString: handle.url });
      await client.connect();
      const { rows } = await client.query<{ fsync: string }>('SHOW fsync');
      await client.end();
      expect(rows[0]?.fsync).toBe('off');
    } finally {
      await handle.stop();
    }
    const port = Number(new URL(handle.url).port);
    expect(await isReachable('127.0.0.1', port, 500)).toBe(false);
  });
});
