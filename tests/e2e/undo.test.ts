import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startService,
  tableHashes,
  waitFor,
  waitForSettledJob,
  type E2eEnvironment,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// Restore points and undo, across the real API and worker processes: a restore keeps the replaced tables,
// an undo swaps them back exactly, the preview counts what an undo discards, and every refusal says why.
let stack: E2eStack;
let db: TestDatabase;
let env: E2eEnvironment;
let api: ServiceProcess;
let token: string;
// The tables a restore replaces (users included: every comparison is taken with no login in between).
const REPLACED = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments'];

const relogin = async () => (token = await stack.login());
const call = async <T = Record<string, any>>(method: string, url: string, body?: unknown) => {
  let res = await client(api, token).json<T>(method, url, body);
  if (res.status === 401) {
    await relogin();
    res = await client(api, token).json<T>(method, url, body);
  }
  return res;
};

/** Waits on the operation row itself (polling the API would log in again, which writes users). */
const settled = (id: string) =>
  waitFor(
    async () => {
      const op = await db.prisma.operation.findUniqueOrThrow({ where: { id } });
      return op.status === 'completed' || op.status === 'failed' ? op : undefined;
    },
    60_000,
    100,
  );

async function restore(backupId: string, skipSafetyBackup = true) {
  const res = await call<{ jobId: string; operationId: string }>('POST', '/api/backup/restore', {
    backupId,
    skipSafetyBackup,
  });
  expect(res.status).toBe(202);
  const op = await settled(res.body.data.operationId);
  expect([op.status, op.error]).toEqual(['completed', null]);
  return op;
}

const restorePoints = async () =>
  (
    await db.pool.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, 'mp_restore_point_') ORDER BY 1`,
    )
  ).rows.map((r) => r.name);

async function sweep() {
  const queue = new Queue('backup', { connection: { url: env.env.REDIS_URL }, prefix: env.env.QUEUE_PREFIX });
  const job = await queue.add('backup.restore-points', { action: 'sweep' }, { jobId: `sweep-${Date.now()}` });
  const done = await waitForSettledJob(queue, job.id!, 30_000);
  if (done.state === 'failed') throw new Error(done.reason);
  await queue.close();
}

let backupId: string;
let backedUp: Awaited<ReturnType<typeof tableHashes>>;

beforeAll(async () => {
  stack = await startE2eStack({ scale: 2, seed: 5, env: { LOGIN_RATE_LIMIT: '1000' } });
  ({ db, env, api } = stack);
  token = await stack.login();
  const made = await call<{ backupId: string; jobId: string }>('POST', '/api/backup/create', {
    includeAuditLogs: false,
  });
  expect((await waitForJob(api, token, made.body.data.jobId)).state).toBe('completed');
  backupId = made.body.data.backupId;
  backedUp = await tableHashes(
    db.pool,
    REPLACED.filter((t) => t !== 'users'),
  );
}, 120_000);

afterAll(() => stack?.stop());

describe('restore, then undo', () => {
  let before: Awaited<ReturnType<typeof tableHashes>>;
  let restoreId: string;

  it('a restore keeps the replaced tables as its restore point and writes the pre-restore file in the ' +
    'background', async () => {
    // What the restore will replace, and so what an undo must give back.
    await db.pool.query(
      `UPDATE loans SET notes = 'after the backup' WHERE id IN (SELECT id FROM loans ORDER BY id LIMIT 7)`,
    );
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments ORDER BY id LIMIT 4)`);
    await relogin();
    before = await tableHashes(db.pool, REPLACED);
    const res = await client(api, token).json<{ jobId: string; operationId: string }>('POST', '/api/backup/restore', {
      backupId,
    });
    expect(res.status).toBe(202);
    restoreId = res.body.data.operationId;
    const op = await settled(restoreId);
    expect([op.status, op.error]).toEqual(['completed', null]);
    expect(
      await tableHashes(
        db.pool,
        REPLACED.filter((t) => t !== 'users'),
      ),
    ).toEqual(backedUp);
    expect(op.restorePoint).toMatch(/^mp_restore_point_[0-9a-f]{16}$/);
    expect(await restorePoints()).toEqual([op.restorePoint]);
    expect(Number(op.restorePointBytes)).toBeGreaterThan(0);
    expect(op.undoUntil!.getTime() - op.completedAt!.getTime()).toBeGreaterThan(23.9 * 3_600_000);
    // Completed without waiting for the safety file: it is written afterwards, from the restore point.
    expect(op.result).toMatchObject({ safetyBackup: expect.stringMatching(/^(pending|completed)$/) });
    const linked = await waitFor(
      async () => {
        const row = await db.prisma.operation.findUniqueOrThrow({ where: { id: restoreId } });
        return (row.result as { safetyBackupId?: string }).safetyBackupId;
      },
      60_000,
      100,
    );
    const safety = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: linked } });
    expect(safety).toMatchObject({ type: 'pre_restore', status: 'completed', jobId: `pre-restore-${restoreId}` });
    // The file holds the data as it was before the restore.
    expect((safety.recordCounts as Record<string, number>).repayments).toBe(before.repayments!.rows);
    const verify = await call<{ jobId: string }>('POST', `/api/backup/${linked}/verify`);
    expect(verify.status).toBe(202);
    expect((await waitForJob(api, token, verify.body.data.jobId, { relogin })).state).toBe('completed');

    const status = await call<{
      result: { restorePoint: { schema: string; bytes: number; undoUntil: string; droppedAt: null } };
    }>('GET', `/api/backup/jobs/${restoreId}`);
    expect(status.body.data.result.restorePoint).toMatchObject({ schema: op.restorePoint, droppedAt: null });
    expect(status.body.data.result.restorePoint.bytes).toBeGreaterThan(0);
  }, 120_000);

  it('the undo preview counts exactly the rows written since the restore', async () => {
    await db.pool.query(
      `UPDATE loans SET notes = 'since the restore' WHERE id IN (SELECT id FROM loans ORDER BY id LIMIT 3)`,
    );
    // The same rows again: still three rows written.
    await db.pool.query(
      `UPDATE loans SET notes = 'since the restore, twice' WHERE id IN (SELECT id FROM loans ORDER BY id LIMIT 3)`,
    );
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments ORDER BY id DESC LIMIT 2)`);
    const copy = `INSERT INTO repayments SELECT (jsonb_populate_record(NULL::repayments,
        to_jsonb(r) || jsonb_build_object('id', gen_random_uuid()::text, 'reference', r.reference || $1::text))).*
      FROM (SELECT * FROM repayments ORDER BY id LIMIT 1) r RETURNING id`;
    await db.pool.query(copy, ['-kept']);
    // Inserted and deleted again: nothing of it would be lost, so it counts nowhere.
    const gone = await db.pool.query<{ id: string }>(copy, ['-gone']);
    await db.pool.query(`DELETE FROM repayments WHERE id = $1`, [gone.rows[0]!.id]);

    const res = await call<{
      available: boolean;
      tables: { table: string; inserted: number; updated: number; deleted: number; written: number }[];
      written: number;
      undoUntil: string;
      restorePoint: { bytes: number };
    }>('GET', `/api/backup/restore/${restoreId}/undo`);
    expect(res.status).toBe(200);
    const byTable = Object.fromEntries(res.body.data.tables.map((t) => [t.table, t]));
    expect(res.body.data.available).toBe(true);
    expect(byTable.loans).toEqual({ table: 'loans', inserted: 0, updated: 3, deleted: 0, written: 3 });
    expect(byTable.repayments).toEqual({ table: 'repayments', inserted: 1, updated: 0, deleted: 2, written: 3 });
    for (const t of ['unions', 'unionMembers', 'loanTypes']) expect(byTable[t]).toMatchObject({ written: 0 });
    // The list of restores offers the undo (how the console finds a restore to undo).
    const listed = await call<{
      items: {
        id: string;
        undoAvailable: boolean;
        undoRefusal: string | null;
        source: string;
        tables: null;
        restorePoint: { bytes: number };
      }[];
    }>('GET', '/api/backup/restores?limit=5');
    expect(listed.status).toBe(200);
    expect(listed.body.data.items[0]).toMatchObject({
      id: restoreId,
      source: 'backup',
      tables: null,
      undoAvailable: true,
      undoRefusal: null,
    });
    expect(listed.body.data.items[0]!.restorePoint.bytes).toBeGreaterThan(0);
    // Logins since the restore wrote the admin's lastLoginAt: updates, never inserts or deletes.
    expect(byTable.users).toMatchObject({ inserted: 0, deleted: 0 });
    expect(byTable.users!.updated).toBeGreaterThanOrEqual(1);
    expect(res.body.data.restorePoint.bytes).toBeGreaterThan(0);
    expect(new Date(res.body.data.undoUntil).getTime()).toBeGreaterThan(Date.now());
    console.info(`undo preview as the user reads it: ${JSON.stringify(res.body)}`);
  });

  it('undo swaps the restore point back: every replaced table is exactly as before the restore; everyone is logged ' +
    'out', async () => {
    const res = await call<{
      jobId: string;
      operationId: string;
      statusUrl: string;
      discards: { written: number; available: boolean; reason: string | null };
    }>('POST', `/api/backup/restore/${restoreId}/undo`);
    expect(res.status).toBe(202);
    expect(res.body.data.statusUrl).toBe(`/api/backup/jobs/${res.body.data.jobId}`);
    expect(res.body.data.discards.written).toBeGreaterThanOrEqual(7);
    expect(res.body.data.discards).toMatchObject({ available: true, reason: null });
    const undo = await settled(res.body.data.operationId);
    expect([undo.kind, undo.status, undo.error]).toEqual(['undo', 'completed', null]);
    expect(await tableHashes(db.pool, REPLACED)).toEqual(before);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM sessions`)).rows[0].n).toBe(0);
    expect(await restorePoints()).toEqual([]);
    const restored = await db.prisma.operation.findUniqueOrThrow({ where: { id: restoreId } });
    expect(restored.restorePointDroppedAt).not.toBeNull();
    // The old token no longer works; the undo's result says what it discarded.
    expect((await client(api, token).json('GET', '/api/backup/list')).status).toBe(401);
    const status = await call<{
      state: string;
      result: { discarded: { table: string; written?: number }[]; sessionsCleared: boolean };
    }>('GET', res.body.data.statusUrl);
    expect(status.body.data).toMatchObject({ state: 'completed', result: { sessionsCleared: true } });
    // The app keeps working on the tables that came back (sequences, keys, foreign keys).
    await expect(
      db.pool.query(`DELETE FROM unions WHERE id = (SELECT "unionId" FROM union_members LIMIT 1)`),
    ).rejects.toThrow(/foreign key/);
  }, 90_000);

  it('refuses a second undo, an undo of what is not a restore, and an unknown operation', async () => {
    const again = await call('POST', `/api/backup/restore/${restoreId}/undo`);
    expect([again.status, again.body.error?.code]).toEqual([409, 'UNDO_NOT_AVAILABLE']);
    expect(again.body.error!.message).toMatch(/already undone/);
    console.info(`second undo as the user reads it: ${again.status} ${JSON.stringify(again.body)}`);
    const undoOp = await db.prisma.operation.findFirstOrThrow({ where: { kind: 'undo' } });
    const notRestore = await call('POST', `/api/backup/restore/${undoOp.id}/undo`);
    expect([notRestore.status, notRestore.body.error?.code]).toEqual([409, 'UNDO_NOT_AVAILABLE']);
    expect(notRestore.body.error!.message).toMatch(/is not a restore/);
    const unknown = await call('POST', `/api/backup/restore/${randomUUID()}/undo`);
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'NOT_FOUND']);
    const preview = await call<{ available: boolean; reason: string }>('GET', `/api/backup/restore/${restoreId}/undo`);
    expect(preview.body.data).toMatchObject({ available: false, reason: expect.stringMatching(/already undone/) });
    const listed = await call<{ items: { id: string; undoAvailable: boolean; undoRefusal: string }[] }>(
      'GET',
      '/api/backup/restores',
    );
    expect(listed.body.data.items.find((r) => r.id === restoreId)).toMatchObject({
      undoAvailable: false,
      undoRefusal: expect.stringMatching(/already undone/),
    });
  });
});

describe('restore points end', () => {
  it('when a later restore lands: the earlier point is dropped and its undo refused', async () => {
    const first = await restore(backupId);
    const second = await restore(backupId);
    expect(await restorePoints()).toEqual([second.restorePoint]);
    expect(
      (await db.prisma.operation.findUniqueOrThrow({ where: { id: first.id } })).restorePointDroppedAt,
    ).not.toBeNull();
    const res = await call('POST', `/api/backup/restore/${first.id}/undo`);
    expect([res.status, res.body.error?.code]).toEqual([409, 'UNDO_NOT_AVAILABLE']);
    expect(res.body.error!.message).toMatch(/later restore/);
  }, 90_000);

  it('on DELETE …/restore-point: dropped at once, and the undo is refused since', async () => {
    const op = await restore(backupId);
    const res = await call<{ jobId: string }>('DELETE', `/api/backup/restore/${op.id}/restore-point`);
    expect(res.status).toBe(202);
    expect((await waitForJob(api, token, res.body.data.jobId, { relogin })).state).toBe('completed');
    expect(await restorePoints()).toEqual([]);
    const undo = await call('POST', `/api/backup/restore/${op.id}/undo`);
    expect([undo.status, undo.body.error?.code]).toEqual([409, 'UNDO_NOT_AVAILABLE']);
    expect(undo.body.error!.message).toMatch(/restore point was dropped/);
    const again = await call('DELETE', `/api/backup/restore/${op.id}/restore-point`);
    expect([again.status, again.body.error?.code]).toEqual([404, 'NOT_FOUND']);
  }, 90_000);

  it('when the window closes (UNDO_WINDOW_HOURS): the undo is refused and the hourly sweep drops the ' +
    'point', async () => {
    await stack.worker.kill();
    stack.worker = await startService('worker', { ...env.env, UNDO_WINDOW_HOURS: '0' });
    const op = await restore(backupId);
    expect(op.undoUntil!.getTime()).toBeLessThanOrEqual(op.completedAt!.getTime());
    expect(await restorePoints()).toEqual([op.restorePoint]);
    const res = await call('POST', `/api/backup/restore/${op.id}/undo`);
    expect([res.status, res.body.error?.code]).toEqual([409, 'UNDO_NOT_AVAILABLE']);
    expect(res.body.error!.message).toMatch(/undo window closed/);
    await sweep();
    expect(await restorePoints()).toEqual([]);
    expect(
      (await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } })).restorePointDroppedAt,
    ).not.toBeNull();
  }, 90_000);
});
