import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableHashes, type ServiceProcess, type TestDatabase } from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// zstd through the API and a real worker process (every file compressed: threshold 0), as an admin sees it.
// Budgets are for a loaded machine: each test takes a few seconds on a quiet one.
let stack: E2eStack;
let db: TestDatabase;
let api: ServiceProcess;
let token: string;
// users is left out: every login (restores log everyone out) updates the admin's row.
const TABLES = ['unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs'];
const ZSTD_MAGIC = '28b52ffd';

beforeAll(async () => {
  stack = await startE2eStack({ scale: 1, seed: 16, env: { COMPRESS_THRESHOLD_BYTES: '0' } });
  ({ db, api } = stack);
  token = await stack.login();
}, 90_000);

afterAll(() => stack?.stop(), 90_000);

const http = () => client(api, token);

describe('zstd backups, end to end', () => {
  let backupId: string;
  let file: Buffer;
  let before: Awaited<ReturnType<typeof tableHashes>>;

  it('creates a zstd backup (.json.zst), reads it back, verifies it, and downloads it as stored', async () => {
    before = await tableHashes(db.pool, TABLES);
    const created = await http().json<{ backupId: string; jobId: string }>('POST', '/api/backup/create', {
      compression: 'zstd',
      includeAuditLogs: true,
    });
    expect(created.status).toBe(202);
    backupId = created.body.data.backupId;
    expect(await waitForJob(api, token, created.body.data.jobId)).toMatchObject({ state: 'completed' });

    const record = await http().json<Record<string, unknown>>('GET', `/api/backup/${backupId}`);
    expect(record.body.data).toMatchObject({
      compressed: true,
      options: { includeAuditLogs: true, compression: 'zstd' },
    });
    expect(record.body.data.filename).toMatch(/\.json\.zst$/);
    // The read-back after the export decompressed it (the record's report, written by the worker).
    const checks = (
      record.body.data.verification as { copies: { checks: { name: string; ok: boolean; details?: string }[] }[] }
    ).copies[0]!.checks;
    expect(checks.find((c) => c.name === 'decompress')).toEqual({ name: 'decompress', ok: true, details: 'zstd' });

    const res = await http().raw(`/api/backup/download/${backupId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zstd');
    expect(res.headers.get('content-disposition')).toMatch(/\.json\.zst"?$/);
    file = Buffer.from(await res.arrayBuffer());
    expect(file.subarray(0, 4).toString('hex')).toBe(ZSTD_MAGIC);
    expect(res.headers.get('x-backup-checksum')).toBe(`sha256=${createHash('sha256').update(file).digest('hex')}`);

    const verify = await http().json<{ jobId: string }>('POST', `/api/backup/${backupId}/verify`);
    expect(await waitForJob(api, token, verify.body.data.jobId)).toMatchObject({
      state: 'completed',
      result: { ok: true },
    });
  }, 90_000);

  it('restores the zstd backup by id and from its uploaded download, to the same content', async () => {
    await db.pool.query(`UPDATE loans SET notes = 'changed after the backup'`);
    await db.pool.query(`DELETE FROM audit_logs`);
    const byId = await http().json<{ jobId: string }>('POST', '/api/backup/restore', {
      backupId,
      skipSafetyBackup: true,
    });
    expect(byId.status).toBe(202);
    expect(await waitForJob(api, token, byId.body.data.jobId, { relogin: stack.login })).toMatchObject({
      state: 'completed',
    });
    token = await stack.login();
    expect(await tableHashes(db.pool, TABLES)).toEqual(before);

    await db.pool.query(`UPDATE loans SET notes = 'changed again'`);
    const form = new FormData();
    form.append('skipSafetyBackup', 'true');
    form.append('file', new Blob([file]), 'backup.json.zst');
    const upload = await http().raw('/api/backup/restore', { method: 'POST', body: form });
    expect(upload.status).toBe(202);
    const { data } = (await upload.json()) as { data: { jobId: string } };
    expect(await waitForJob(api, token, data.jobId, { relogin: stack.login })).toMatchObject({ state: 'completed' });
    token = await stack.login();
    expect(await tableHashes(db.pool, TABLES)).toEqual(before);
  }, 90_000);

  it('drills the zstd backup in a scratch database, table by table', async () => {
    const res = await http().json<{ jobId: string }>('POST', `/api/backup/${backupId}/drill`);
    expect(res.status).toBe(202);
    const done = await waitForJob(api, token, res.body.data.jobId);
    expect(done).toMatchObject({ state: 'completed', result: { backupId, ok: true } });
  }, 60_000);

  it('refuses damaged zstd uploads as INVALID_BACKUP_FILE, with problems, and changes nothing', async () => {
    const upload = async (bytes: Buffer) => {
      const form = new FormData();
      form.append('skipSafetyBackup', 'true');
      form.append('file', new Blob([bytes]), 'backup.json.zst');
      const res = await http().raw('/api/backup/restore', { method: 'POST', body: form });
      expect(res.status).toBe(202);
      const { data } = (await res.json()) as { data: { jobId: string } };
      return waitForJob(api, token, data.jobId);
    };
    // Earlier restores keep their restore points (undo): the refused ones must add no schema.
    const schemas = async () =>
      (await db.pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp\\_%' ORDER BY 1`)).rows;
    const schemasBefore = await schemas();
    const flip = (at: number) => {
      const copy = Buffer.from(file);
      copy[at] = copy[at]! ^ 0xff;
      return copy;
    };
    // The frame's content checksum (its last 4 bytes) fails once every byte has decompressed.
    const badChecksum = await upload(flip(file.length - 1));
    expect(badChecksum).toMatchObject({
      state: 'failed',
      problems: [{ problem: 'the file looks like zstd but does not decompress' }],
    });
    expect(badChecksum.error).toMatch(/^The backup file is not valid; nothing was changed: .*zstd/);
    // A byte in the middle: a corrupt block, or bytes the scanner refuses first; refused either way.
    const badBlock = await upload(flip(Math.floor(file.length / 2)));
    expect(badBlock).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/^The backup file is not valid; nothing was changed/),
    });
    expect((badBlock as { problems?: unknown[] }).problems?.length).toBeGreaterThan(0);
    expect(await tableHashes(db.pool, TABLES)).toEqual(before);
    expect(await schemas()).toEqual(schemasBefore);
  }, 90_000);

  it('keeps the compression in the schedule, gzip by default, and refuses an unknown one', async () => {
    const fresh = await http().json<Record<string, unknown>>('GET', '/api/backup/schedule');
    expect(fresh.body.data).toMatchObject({ compression: 'gzip' });
    const put = await http().json<Record<string, unknown>>('PUT', '/api/backup/schedule', { compression: 'zstd' });
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({ compression: 'zstd' });
    for (const bad of [{ compression: 'lz4' }, { compression: null }]) {
      const res = await http().json('PUT', '/api/backup/schedule', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const refused = await http().json('POST', '/api/backup/create', { compression: 'brotli' });
    expect(refused.status).toBe(400);
    expect((await http().json<Record<string, unknown>>('GET', '/api/backup/schedule')).body.data).toMatchObject({
      compression: 'zstd',
    });
  });
});
