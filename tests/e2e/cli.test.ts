// `mp-backup`, the CLI, as a real process against a running API and worker: every command, its exit codes,
// its refusals, and that a refused restore changes nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, recordSecret, REPO_ROOT, tableHashes } from '@mp/testing';
import { startE2eStack, type E2eStack } from './helpers.js';

const BIN = path.join(REPO_ROOT, 'node_modules/.bin/mp-backup');
const CORE = ['unions', 'union_members', 'loan_types', 'loans', 'repayments'];
// The exit codes the CLI documents (packages/cli/src/exit-codes.ts), written out so a change to them fails here.
const EXIT = {
  OK: 0,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  UNAVAILABLE: 6,
  JOB_FAILED: 7,
  INVALID_BACKUP: 9,
  CANCELLED: 10,
};

let stack: E2eStack;
let dir: string;
let credentials: string;
let admin: { username: string; password: string };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mp-backup …args` with its own credentials file; `input` goes to its standard input (not a terminal). */
function cli(args: string[], opts: { input?: string; credentialsFile?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      cwd: dir,
      env: {
        ...process.env,
        MP_BACKUP_CREDENTIALS: opts.credentialsFile ?? credentials,
        BACKUP_ENCRYPTION_KEY: '',
        BACKUP_DECRYPTION_KEYS: '',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const json = <T = Record<string, any>>(run: Run): T => JSON.parse(run.stdout) as T;
const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

beforeAll(async () => {
  stack = await startE2eStack({ scale: 1, seed: 21 });
  dir = await mkdtemp(path.join(os.tmpdir(), 'mp-cli-'));
  credentials = path.join(dir, 'config', 'credentials.json');
  const { user, password } = await createUser(stack.db.prisma, { role: 'ADMIN' });
  admin = { username: user.username, password };
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Each command is a process started through tsx: a budget per test, not a timing assertion.
describe('mp-backup', { timeout: 90_000 }, () => {
  let backupId: string;
  let file: string;

  it('refuses every command before login, and a wrong password or a non-admin at login', async () => {
    const before = await cli(['list']);
    expect(before.code).toBe(EXIT.AUTH);
    expect(before.stderr).toMatch(/Not logged in: run `mp-backup login/);

    const wrong = await cli(['login', '--url', stack.api.url, '--username', admin.username, '--password-stdin'], {
      input: 'not-the-password\n',
    });
    expect(wrong.code).toBe(EXIT.AUTH);
    expect(wrong.stderr).toMatch(/INVALID_CREDENTIALS|invalid/i);

    const { user, password } = await createUser(stack.db.prisma, { role: 'SUPERVISOR' });
    const supervisor = await cli(['login', '--url', stack.api.url, '--username', user.username, '--password-stdin'], {
      input: `${password}\n`,
    });
    expect(supervisor.code).toBe(EXIT.AUTH);
    expect(supervisor.stderr).toMatch(/not an admin/);
  });

  it('logs in and keeps the token, never the password, in a file only its owner can read', async () => {
    const run = await cli(
      ['--json', 'login', '--url', stack.api.url, '--username', admin.username, '--password-stdin'],
      { input: `${admin.password}\n` },
    );
    expect(run.code, run.stderr).toBe(EXIT.OK);
    expect(json(run)).toMatchObject({ loggedIn: true, username: admin.username });
    const saved = await readFile(credentials, 'utf8');
    recordSecret('cli token', (JSON.parse(saved) as { token: string }).token);
    expect(saved).not.toContain(admin.password);
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(credentials))).mode & 0o777).toBe(0o700);
  });

  it('creates a backup and follows it to completion; status and list show it', async () => {
    const run = await cli(['--json', 'create', '--audit-logs']);
    expect(run.code, run.stderr).toBe(EXIT.OK);
    const final = json(run);
    expect(final).toMatchObject({ state: 'completed', kind: 'backup.create' });
    backupId = final.result.backupId as string;

    const status = await cli(['--json', 'status', final.jobId as string]);
    expect(status.code).toBe(EXIT.OK);
    expect(json(status)).toMatchObject({ jobId: final.jobId, state: 'completed' });

    const list = await cli(['--json', 'list']);
    expect(json<{ items: { id: string }[] }>(list).items.map((b) => b.id)).toContain(backupId);
    const text = await cli(['list']);
    expect(text.stdout).toContain(backupId);

    const missing = await cli(['status', '00000000-0000-4000-8000-000000000000']);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
  });

  it('downloads the file as stored, and verifies it offline and through the worker', async () => {
    file = path.join(dir, 'copy.json');
    const run = await cli(['download', backupId, '-o', file]);
    expect(run.code, run.stderr).toBe(EXIT.OK);
    const record = await stack.db.prisma.backupRecord.findUniqueOrThrow({ where: { id: backupId } });
    expect(sha256(await readFile(file))).toBe(record.checksum);

    const offline = await cli(['--json', 'verify', file]);
    expect(offline.code, offline.stderr).toBe(EXIT.OK);
    expect(json(offline)).toMatchObject({ ok: true, sha256: record.checksum });

    const damaged = path.join(dir, 'damaged.json');
    const bytes = await readFile(file);
    await writeFile(damaged, bytes.subarray(0, bytes.length - 50));
    const bad = await cli(['verify', damaged]);
    expect(bad.code).toBe(EXIT.INVALID_BACKUP);
    expect(bad.stdout).toMatch(/DAMAGED/);

    const remote = await cli(['--json', 'verify', backupId]);
    expect(remote.code, remote.stderr).toBe(EXIT.OK);
    expect(json(remote)).toMatchObject({ state: 'completed', kind: 'backup.verify' });
  });

  it('asks before a restore, and without a terminal refuses unless --yes; nothing changes', async () => {
    const before = await tableHashes(stack.db.pool, CORE);
    const run = await cli(['restore', backupId]);
    expect(run.code).toBe(EXIT.CANCELLED);
    expect(run.stderr).toMatch(/confirm with --yes/);
    expect(await tableHashes(stack.db.pool, CORE)).toEqual(before);
  });

  it('uploads a refused file and prints its problems; nothing changes', async () => {
    const before = await tableHashes(stack.db.pool, CORE);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { data: Record<string, Record<string, unknown>[]> };
    doc.data.loans![0]!.memberId = '00000000-0000-4000-8000-00000000dead';
    const broken = path.join(dir, 'dangling.json');
    await writeFile(broken, JSON.stringify(doc));
    const run = await cli(['restore', broken, '--yes']);
    expect(run.code, run.stderr).toBe(EXIT.JOB_FAILED);
    expect(run.stderr).toMatch(/failed: The backup file is not valid; nothing was changed/);
    expect(run.stderr).toMatch(/loans/);
    expect(await tableHashes(stack.db.pool, CORE)).toEqual(before);
  });

  it('restores an uploaded file with --yes', async () => {
    await stack.db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments ORDER BY id LIMIT 3)`);
    const run = await cli(['restore', file, '--yes']);
    expect(run.code, run.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { data: Record<string, unknown[]> };
    const { rows } = await stack.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM repayments');
    expect(Number(rows[0]!.n)).toBe(doc.data.repayments!.length);
  });

  it('changes the schedule and shows it; refuses an empty or wrong change', async () => {
    // The restore ended every session: log in again.
    await cli(['login', '--url', stack.api.url, '--username', admin.username, '--password-stdin'], {
      input: `${admin.password}\n`,
    });
    const set = await cli(['--json', 'schedule', 'set', '--frequency', 'weekly', '--retention-days', '14']);
    expect(set.code, set.stderr).toBe(EXIT.OK);
    const get = await cli(['--json', 'schedule', 'get']);
    expect(json(get)).toMatchObject({ frequency: 'weekly', retentionDays: 14 });

    expect((await cli(['schedule', 'set'])).code).toBe(EXIT.USAGE);
    expect((await cli(['schedule', 'set', '--frequency', 'hourly'])).code).toBe(EXIT.USAGE);
    expect((await cli(['schedule', 'set', '--retention-days', '0'])).code).toBe(EXIT.USAGE);
  });

  it('says so when the API cannot be reached', async () => {
    const elsewhere = path.join(dir, 'elsewhere.json');
    await writeFile(
      elsewhere,
      JSON.stringify({ url: 'http://127.0.0.1:1', token: 'x', username: 'a', expiresAt: null }),
    );
    const run = await cli(['list'], { credentialsFile: elsewhere });
    expect(run.code).toBe(EXIT.UNAVAILABLE);
    expect(run.stderr).toMatch(/Cannot reach the API at http:\/\/127\.0\.0\.1:1/);
  });

  it('logs out: the token no longer works, and the file is gone', async () => {
    const token = (JSON.parse(await readFile(credentials, 'utf8')) as { token: string }).token;
    const run = await cli(['logout']);
    expect(run.code).toBe(EXIT.OK);
    await expect(stat(credentials)).rejects.toThrow();
    const res = await fetch(`${stack.api.url}/api/backup/list`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
  });
});
