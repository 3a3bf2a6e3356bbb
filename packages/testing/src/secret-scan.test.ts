import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { SECRETS_FILE, scanLogDir, scanText } from '../../../scripts/lib/secret-scan.mjs';
import { REPO_ROOT } from './processes.js';

const run = promisify(execFile);

describe('secret scan of captured logs', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function capture(secret: string, logs: Record<string, string>) {
    dir = mkdtempSync(path.join(tmpdir(), 'mp-scan-test-'));
    appendFileSync(
      path.join(dir, SECRETS_FILE),
      `${JSON.stringify({ kind: 'password', value: secret })}\n{"kind":"cut`,
    );
    for (const [name, text] of Object.entries(logs)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
  }

  it('finds a recorded secret and every secret shape, masked, and passes clean logs', () => {
    const secret = `Planted-${randomBytes(6).toString('hex')}`;
    const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${'s'.repeat(43)}`;
    capture(secret, {
      'api-x.log': [
        '{"msg":"request completed"}',
        `{"msg":"login","body":{"password":"${secret}"}}`,
        `{"auth":"Bearer ${jwt}"}`,
      ].join('\n'),
      'nested/worker-y.log': [
        '{"hash":"scrypt$32768$8$1$c2FsdA==$aGFzaA=="}',
        '{"hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"}',
        'CLOUDINARY_URL=cloudinary://123456:abcdef@demo',
        '{"api_secret":"abcdef123"}',
        '{"api_secret":"[Redacted]","note":"scrypt$disabled$ placeholders are not hashes"}',
      ].join('\n'),
      'notes.txt': secret, // only *.log files are captured output
    });
    const found = scanLogDir(dir);
    expect(found.map((f) => `${f.file}:${f.line} ${f.reason}`)).toEqual([
      'api-x.log:2 recorded password',
      'api-x.log:3 JWT',
      `${path.join('nested', 'worker-y.log')}:1 scrypt password hash`,
      `${path.join('nested', 'worker-y.log')}:2 Argon2 password hash`,
      `${path.join('nested', 'worker-y.log')}:3 Cloudinary URL with credentials`,
      `${path.join('nested', 'worker-y.log')}:4 api_secret value`,
    ]);
    for (const f of found) expect(f.excerpt).not.toContain(secret);
    expect(found[1]!.excerpt).not.toContain(jwt);
    expect(scanText('{"msg":"all fine","user":"admin"}', [{ kind: 'password', value: secret }])).toEqual([]);
  });

  it('makes the check step fail with a readable list that does not repeat the secret', async () => {
    const secret = `Planted-${randomBytes(6).toString('hex')}`;
    capture(secret, { 'api-z.log': `ok\n{"err":"bad password ${secret}"}\n` });
    const script = path.join(REPO_ROOT, 'scripts', 'check-secrets.mjs');
    const failed = await run(process.execPath, [script, dir]).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('1 captured log line(s) hold a secret');
    expect(failed?.stderr).toContain('api-z.log:2: recorded password: {"err":"bad password [secret]"}');
    expect(failed?.stderr).not.toContain(secret);

    writeFileSync(path.join(dir, 'api-z.log'), 'ok\n');
    const clean = await run(process.execPath, [script, dir]);
    expect(clean.stdout).toContain('captured logs clean');
  });
});
