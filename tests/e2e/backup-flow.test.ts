import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableHashes, type E2eEnvironment, type ServiceProcess, type TestDatabase } from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// The whole path across processes: API enqueues, the worker (a separate process) does the work.
let stack: E2eStack;
let db: TestDatabase;
let env: E2eEnvironment;
let api: ServiceProcess;
let token: string;
let freshToken: () => Promise<string>;
// Logging in touches users.lastLoginAt, so users are compared by count; every other table by content.
const CORE = ['unions', 'union_members', 'loan_types', 'loans', 'repayments'];

function parseBackup(bytes: Buffer) {
  const text = bytes[0] === 0x1f ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return JSON.parse(text) as { metadata: Record<string, any>; data: Record<string, Record<string, any>[]> };
}

async function createBackup(body: Record<string, unknown>) {
  const res = await client(api, token).json<{
    backupId: string;
    jobId: string;
    filename: string;
    status: string;
    statusUrl: string;
  }>('POST', '/api/backup/create', body);
  expect(res.status).toBe(202);
  return res.body.data;
}

beforeAll(async () => {
  stack = await startE2eStack({ scale: 2, seed: 3, env: { COMPRESS_THRESHOLD_BYTES: String(256 * 1024) } });
  ({ db, env, api } = stack);
  freshToken = stack.login;
  token = await freshToken();
}, 90_000);

afterAll(() => stack?.stop());

describe('backup, poll, list, download', () => {
  let backup: { backupId: string; jobId: string; filename: string };
  let downloaded: Buffer;

  it('answers 202 at once and the worker completes the job', async () => {
    backup = await createBackup({ includeAuditLogs: true });
    expect(backup.jobId).toBe(backup.backupId);
    expect(backup.filename).toMatch(/^backup_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z_[0-9a-f]{8}\.json$/);
    const status = await waitForJob(api, token, backup.jobId);
    expect(status).toMatchObject({ state: 'completed' });
  });

  it('lists the backup newest first with its counts and checksum', async () => {
    const res = await client(api, token).json<{ items: Record<string, any>[] }>('GET', '/api/backup/list?limit=5');
    const item = res.body.data.items.find((i) => i.id === backup.backupId)!;
    expect(item).toMatchObject({ status: 'completed', type: 'manual', location: 'local' });
    expect(item.filename).toMatch(/\.json\.gz$/);
    expect(item.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(item.recordCounts.auditLogs).toBeGreaterThan(0);
  });

  it('downloads a file whose checksum, counts and shape match', async () => {
    const res = await client(api, token).raw(`/api/backup/download/${backup.backupId}`);
    expect(res.status).toBe(200);
    downloaded = Buffer.from(await res.arrayBuffer());
    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: backup.backupId } });
    const sha = createHash('sha256').update(downloaded).digest('hex');
    expect(res.headers.get('x-backup-checksum')).toBe(`sha256=${sha}`);
    expect(sha).toBe(record.checksum);
    expect(res.headers.get('content-disposition')).toContain(record.filename);
    expect(Number(res.headers.get('content-length'))).toBe(downloaded.length);
    const doc = parseBackup(downloaded);
    const hashes = await tableHashes(db.pool);
    expect(doc.metadata.recordCounts).toMatchObject({
      users: hashes.users!.rows,
      loans: hashes.loans!.rows,
      repayments: hashes.repayments!.rows,
      auditLogs: hashes.audit_logs!.rows,
    });
    expect(doc.data.sessions).toBeUndefined();
  });

  it('keeps small backups plain and respects includeSessions', async () => {
    const small = await createBackup({ includeSessions: true });
    await waitForJob(api, token, small.jobId);
    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: small.backupId } });
    const res = await client(api, token).raw(`/api/backup/download/${small.backupId}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    // Compressed exactly when the JSON is past the threshold (256 KiB here).
    const jsonLength = record.compressed ? gunzipSync(bytes).length : bytes.length;
    expect(record.compressed).toBe(jsonLength > 256 * 1024);
    expect(record.filename.endsWith('.json.gz')).toBe(record.compressed);
    const doc = parseBackup(bytes);
    expect(doc.data.sessions!.length).toBe((await tableHashes(db.pool, ['sessions'])).sessions!.rows);
    expect(doc.data.auditLogs).toBeUndefined();
  });

  it('restores a stored backup: data back, everyone logged out, maintenance off', async () => {
    const before = await tableHashes(db.pool, CORE);
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments LIMIT 25)`);
    await db.pool.query(`UPDATE union_members SET "firstName" = 'Changed'`);
    const res = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/restore', {
      backupId: backup.backupId,
      skipSafetyBackup: true,
    });
    expect(res.status).toBe(202);
    const done = await waitForJob(api, token, res.body.data.jobId, { relogin: freshToken });
    expect(done.state).toBe('completed');
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
    // The token used before the restore names a session that no longer exists.
    expect((await client(api, token).json('GET', '/api/backup/list')).status).toBe(401);
    token = await freshToken();
    const status = await client(api, token).json<{ maintenance: { active: boolean } }>('GET', '/api/system/status');
    expect(status.body.data.maintenance.active).toBe(false);
  });

  it('restores an uploaded .json.gz file and a seed-shaped body', async () => {
    const before = await tableHashes(db.pool, CORE);
    await db.pool.query(`UPDATE loans SET notes = 'edited'`);
    const form = new FormData();
    form.append('file', new Blob([downloaded]), 'backup.json.gz');
    const upload = await client(api, token).raw('/api/backup/restore', { method: 'POST', body: form });
    expect(upload.status).toBe(202);
    const uploaded = (await upload.json()) as { data: { jobId: string } };
    expect((await waitForJob(api, token, uploaded.data.jobId, { relogin: freshToken })).state).toBe('completed');
    expect(await tableHashes(db.pool, CORE)).toEqual(before);

    token = await freshToken();
    await db.pool.query(`UPDATE loans SET notes = 'edited again'`);
    const body = parseBackup(downloaded);
    const res = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/restore', {
      backupData: body,
      skipSafetyBackup: true,
    });
    expect(res.status).toBe(202);
    expect((await waitForJob(api, token, res.body.data.jobId, { relogin: freshToken })).state).toBe('completed');
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
    token = await freshToken();
  });

  it('reports a broken upload as a failed job with the problems, and changes nothing', async () => {
    const before = await tableHashes(db.pool, CORE);
    const doc = parseBackup(downloaded);
    doc.data.loans![0]!.principal = 'a lot';
    const form = new FormData();
    form.append('file', new Blob([gzipSync(JSON.stringify(doc))]), 'broken.json.gz');
    const res = await client(api, token).raw('/api/backup/restore', { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const { data } = (await res.json()) as { data: { jobId: string } };
    const done = (await waitForJob(api, token, data.jobId)) as Record<string, unknown>;
    // The processes run with NODE_ENV=production, so nothing but the job's own report can carry these words.
    const problem = '"a lot" is not a valid numeric(14,2)';
    expect(done).toMatchObject({
      state: 'failed',
      error: `The backup file is not valid; nothing was changed: 1 problem: data.loans[0].principal: ${problem}`,
      problems: [
        { table: 'loans', row: 0, field: 'principal', problem, message: `data.loans[0].principal: ${problem}` },
      ],
      result: null,
    });
    const op = await db.prisma.operation.findUniqueOrThrow({ where: { id: data.jobId } });
    expect(op).toMatchObject({ status: 'failed', error: done.error, result: { problems: done.problems } });
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
  });

  it('deletes the backup file and record; a second delete is 404', async () => {
    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: backup.backupId } });
    const del = await client(api, token).json('DELETE', `/api/backup/${backup.backupId}`);
    expect(del.status).toBe(200);
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${env.backupDir}/${record.filename}`)).toBe(false);
    expect((await client(api, token).json('DELETE', `/api/backup/${backup.backupId}`)).status).toBe(404);
  });
});

describe('consistency under concurrent writes', () => {
  it('never holds a loan without its member, nor a repayment without its loan', async () => {
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        // Each transaction adds a member, a loan for it and a repayment for that loan.
        await db.pool.query(`
          WITH m AS (INSERT INTO union_members (id, "unionId", "firstName", "lastName")
                     SELECT gen_random_uuid(), id, 'Live', 'Writer' FROM unions LIMIT 1 RETURNING id),
               l AS (INSERT INTO loans (id, "loanNumber", "unionMemberId", "loanTypeId", principal, "interestRate",
                 "totalDue", "termMonths", "createdById")
                     SELECT gen_random_uuid(), 'LIVE-' || gen_random_uuid(), m.id, (SELECT id FROM loan_types LIMIT
                       1), 100, 0.1, 110, 6, (SELECT id FROM users LIMIT 1) FROM m RETURNING id)
          INSERT INTO repayments (id, "loanId", amount, "paidAt", method, reference)
          SELECT gen_random_uuid(), l.id, 10, now(), 'CASH', 'LIVE-' || gen_random_uuid() FROM l`);
        written++;
      }
    })();
    const backup = await createBackup({ includeAuditLogs: true });
    await waitForJob(api, token, backup.jobId);
    writing = false;
    await writer;
    expect(written).toBeGreaterThan(0);
    const res = await client(api, token).raw(`/api/backup/download/${backup.backupId}`);
    const doc = parseBackup(Buffer.from(await res.arrayBuffer()));
    const members = new Set(doc.data.unionMembers!.map((m) => m.id));
    const loans = new Set(doc.data.loans!.map((l) => l.id));
    for (const loan of doc.data.loans!) expect(members.has(loan.unionMemberId)).toBe(true);
    for (const r of doc.data.repayments!) expect(loans.has(r.loanId)).toBe(true);
    for (const [table, rows] of Object.entries(doc.data)) expect(doc.metadata.recordCounts[table]).toBe(rows.length);
  });
});
