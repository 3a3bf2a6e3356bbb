import { createHash, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUser,
  startCloudinaryEmulator,
  startService,
  tableHashes,
  waitFor,
  type CloudinaryEmulator,
  type E2eEnvironment,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';
import { client, login, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// SIGKILL at named points of every stage (FAILPOINTS makes the process log the point and wait there),
// then a restart without failpoints. Whatever the point: the job is retried or failed with a reason, no
// row stays running, no temporary file or half-uploaded object counts as a backup, maintenance is off,
// and the data is either unchanged or fully restored.
let stack: E2eStack;
let db: TestDatabase;
let env: E2eEnvironment;
let cloud: CloudinaryEmulator;
// users is left out: every login writes its lastLoginAt.
const TABLES = ['unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs'];
const DRILL_MS = 120_000;
const api = () => stack.api;
let creds: { username: string; password: string };
let cachedToken: string | undefined;
/** A token for the drills' admin on the current API process; a finished restore logs everyone out (`relogin`). */
const token = async () => (cachedToken ??= await login(api(), creds));
const relogin = async () => {
  cachedToken = undefined;
  return token();
};

/** Replaces the worker (or API) with one that stops at `point`, and returns it. */
async function armed(
  kind: 'api' | 'worker',
  point: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  await (kind === 'api' ? stack.api : stack.worker).kill();
  const proc = await startService(kind, { ...env.env, ...extra, FAILPOINTS: point });
  if (kind === 'api') stack.api = proc;
  else stack.worker = proc;
  return proc;
}

/**
 * Waits for the process's `failpoint` log line, then kills it with SIGKILL: exactly at that point. `inspect`
 * runs in between, while the process holds whatever it holds there.
 */
async function killAt(proc: ServiceProcess, point: string, inspect?: () => Promise<void>): Promise<void> {
  const reached = () =>
    proc
      .output()
      .split('\n')
      .some((l) => l.includes('"msg":"failpoint"') && l.includes(`"point":"${point}"`));
  await waitFor(async () => reached(), 60_000, 25).catch(() => {
    throw new Error(`${proc.kind} never reached ${point}:\n${proc.output().slice(-3000)}`);
  });
  await inspect?.();
  expect(await proc.kill('SIGKILL')).toBeNull();
}

async function restartApi(): Promise<void> {
  await stack.api.kill('SIGKILL');
  stack.api = await startService('api', env.env);
}

const temporaries = async () =>
  [...(await readdir(env.backupDir).catch(() => [])), ...(await readdir(env.uploadDir).catch(() => []))].filter((f) =>
    f.includes('.tmp'),
  );
// Staging schemas (mp_restore_<id>) only: restore points (mp_restore_point_<id>) are kept on purpose.
const stagingSchemas = async () =>
  (
    await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_namespace WHERE starts_with(nspname, 'mp_restore_') AND NOT ` +
        `starts_with(nspname, 'mp_restore_point_')`,
    )
  ).rows[0]!.n;
const restorePoints = async () =>
  (
    await db.pool.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, 'mp_restore_point_')`,
    )
  ).rows.map((r) => r.name);

/**
 * The state every drill must end in: nothing queued or running, no temporary file, no staging schema,
 * maintenance off, and every backup the API lists as usable downloads with the checksum it claims.
 */
async function expectSettled(): Promise<void> {
  await waitFor(
    async () => {
      const open = { status: { in: ['queued' as const, 'running' as const] } };
      return (
        (await db.prisma.backupRecord.count({ where: open })) + (await db.prisma.operation.count({ where: open })) === 0
      );
    },
    60_000,
    100,
  );
  expect(await temporaries()).toEqual([]);
  expect(await stagingSchemas()).toBe(0);
  const t = await token();
  const status = await client(api(), t).json<{ maintenance: { active: boolean } }>('GET', '/api/system/status');
  expect(status.body.data.maintenance.active).toBe(false);
  const list = await client(api(), t).json<{ items: { id: string; status: string; checksum: string | null }[] }>(
    'GET',
    '/api/backup/list?limit=100',
  );
  for (const b of list.body.data.items.filter((i) => i.status === 'completed' || i.status === 'partial')) {
    let res = await client(api(), t).raw(`/api/backup/download/${b.id}`);
    if (res.status === 302) res = await fetch(res.headers.get('location')!);
    expect(res.status, `download of listed backup ${b.id}`).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(b.checksum);
  }
}

async function createBackup(body: Record<string, unknown> = {}) {
  const res = await client(api(), await token()).json<{ jobId: string; backupId: string }>(
    'POST',
    '/api/backup/create',
    body,
  );
  expect(res.status).toBe(202);
  return res.body.data;
}

async function record(id: string) {
  return db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
}

beforeAll(async () => {
  cloud = await startCloudinaryEmulator();
  stack = await startE2eStack({
    scale: 8,
    seed: 11,
    env: {
      CLOUDINARY_URL: cloud.cloudinaryUrl,
      CLOUDINARY_CHUNK_MB: '5',
      RECONCILE_GRACE_MS: '2000',
      JOB_LOCK_MS: '3000',
      JOB_STALLED_INTERVAL_MS: '500',
      LOGIN_RATE_LIMIT: '1000',
    },
  });
  ({ db, env } = stack);
  // Created before any backup, so it survives the restores.
  const { user, password } = await createUser(db.prisma, { role: 'ADMIN' });
  creds = { username: user.username, password };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await cloud?.close();
});

describe('worker killed during a backup', () => {
  it(
    'mid-table of the export: the retry completes it; the half-written file never counted',
    async () => {
      const before = await tableHashes(db.pool, TABLES);
      // Compressed from the first byte, so the temporary file is open and growing when the export stops.
      const worker = await armed('worker', 'export.mid-table', { COMPRESS_THRESHOLD_BYTES: '0' });
      const { jobId, backupId } = await createBackup({ includeAuditLogs: true });
      await killAt(worker, 'export.mid-table');
      await waitFor(async () => (await temporaries()).length === 1);
      expect((await record(backupId)).status).toBe('running');
      const listed = await client(api(), await token()).json<{ items: { id: string }[] }>(
        'GET',
        '/api/backup/list?status=completed',
      );
      expect(listed.body.data.items.map((i) => i.id)).not.toContain(backupId);
      expect((await client(api(), await token()).raw(`/api/backup/download/${backupId}`)).status).toBe(409);

      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), jobId, { timeoutMs: 90_000 });
      expect(done.state).toBe('completed');
      await expectSettled();
      expect(await tableHashes(db.pool, TABLES)).toEqual(before);
    },
    DRILL_MS,
  );

  it(
    'mid-upload to the cloud: no object until the retry uploads a whole one',
    async () => {
      // Uncompressed, so the file spans more than one 5 MB part: all but the last are sent before the stop.
      const worker = await armed('worker', 'upload.mid-chunk', { COMPRESS_THRESHOLD_BYTES: '1000000000' });
      cloud.resetStats();
      const { jobId, backupId } = await createBackup({ includeAuditLogs: true, location: 'cloud' });
      await killAt(worker, 'upload.mid-chunk');
      const partsSent = cloud.requests.filter((r) => r.contentRange).length;
      expect(partsSent).toBeGreaterThan(0);
      expect(cloud.resources().map((r) => r.publicId)).toEqual([]);
      expect((await record(backupId)).status).toBe('running');
      expect((await client(api(), await token()).raw(`/api/backup/download/${backupId}`)).status).toBe(409);

      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), jobId, { timeoutMs: 90_000 });
      expect(done.state).toBe('completed');
      const stored = await record(backupId);
      expect(cloud.resources().map((r) => r.publicId)).toEqual([`backups/${stored.filename}`]);
      expect(cloud.resources()[0]!.bytes).toBe(Number(stored.fileSize));
      await expectSettled();
      console.info(`upload drill: ${partsSent} part(s) of ${stored.fileSize} bytes were sent before the kill`);
    },
    DRILL_MS,
  );

  it(
    'with the cloud upload beside the export: the killed upload never becomes an object; the retry stores one ' +
      'whole copy in each place',
    async () => {
      // Uncompressed, so the file spans two 5 MB parts: the export is still writing when the first is stored.
      const worker = await armed('worker', 'upload.overlap', { COMPRESS_THRESHOLD_BYTES: '1000000000' });
      cloud.resetStats();
      const assetsBefore = cloud.resources().map((r) => r.assetId);
      const { jobId, backupId } = await createBackup({ includeAuditLogs: true, location: 'both' });
      await killAt(worker, 'upload.overlap');
      const killedParts = cloud.requests.filter((r) => r.action === 'upload');
      // One part stored, not the last (`/-1`: the total is sent only with the last part).
      expect(killedParts.map((r) => [r.status, r.contentRange?.endsWith('/-1')])).toEqual([[200, true]]);
      // Killed mid-export: the local file is still temporary, nothing is recorded, no object was made.
      expect(await temporaries()).toHaveLength(1);
      expect(cloud.resources().map((r) => r.assetId)).toEqual(assetsBefore);
      expect(await record(backupId)).toMatchObject({ status: 'running', checksum: null });
      expect((await client(api(), await token()).raw(`/api/backup/download/${backupId}`)).status).toBe(409);

      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), jobId, { timeoutMs: 90_000 });
      expect(done.state).toBe('completed');
      const stored = await record(backupId);
      // The retry exported again (compressed: the restarted worker has the default threshold) and uploaded that
      // file afresh, never continuing the killed upload, which stays unfinished and is no object.
      const retried = cloud.requests.slice(killedParts.length).filter((r) => r.action === 'upload');
      expect(retried.length).toBeGreaterThan(0);
      expect(retried.every((r) => r.status === 200 && r.uploadId !== killedParts[0]!.uploadId)).toBe(true);
      const added = cloud.resources().filter((r) => !assetsBefore.includes(r.assetId));
      expect(
        added.map((r) => ({ publicId: r.publicId, bytes: r.bytes, sha256: r.sha256, assetId: r.assetId })),
      ).toEqual([
        {
          publicId: `backups/${stored.filename}`,
          bytes: Number(stored.fileSize),
          sha256: stored.checksum,
          assetId: stored.cloudinaryAssetId,
        },
      ]);
      // Every object in the cloud is one the product knows about.
      const known = await db.prisma.backupRecord.findMany({ where: { cloudinaryAssetId: { not: null } } });
      expect(
        cloud
          .resources()
          .map((r) => r.assetId)
          .sort(),
      ).toEqual(known.map((r) => r.cloudinaryAssetId).sort());
      const base = stored.filename.replace(/\.json(\.gz|\.zst)?(\.enc)?$/, '');
      expect((await readdir(env.backupDir)).filter((f) => f.startsWith(base))).toEqual([stored.filename]);
      expect(stored.verification).toMatchObject({
        ok: true,
        trigger: 'read-back',
        copies: [{ ok: true }, { ok: true }],
        problems: [],
      });
      await expectSettled();
      console.info(
        `overlap drill: killed after ${killedParts.length} part(s) stored mid-export; the retry sent ` +
          `${retried.length} request(s) for ${stored.fileSize} bytes`,
      );
    },
    DRILL_MS,
  );
});

describe('worker killed during a restore', () => {
  let backupId: string;
  let backedUp: Awaited<ReturnType<typeof tableHashes>>;

  beforeAll(async () => {
    const made = await createBackup({ includeAuditLogs: true });
    expect((await waitForJob(api(), await token(), made.jobId)).state).toBe('completed');
    backupId = made.backupId;
    backedUp = await tableHashes(db.pool, TABLES);
    // What a restore would undo: if any of it survives half-way, the hashes below tell.
    await db.pool.query(`UPDATE loans SET notes = 'after the backup'`);
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments ORDER BY id LIMIT 5)`);
  }, 120_000);

  /** COPY statements running on the test database (a split table is loaded by two). */
  const copiesRunning = async () =>
    (
      await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' ` +
          `AND query LIKE 'COPY %FROM STDIN%'`,
      )
    ).rows[0]!.n;

  it.each<[string, Record<string, string>]>([
    ['restore.staging', {}],
    // A low threshold splits the demo's tables over two COPY connections; killed while both COPYs run.
    ['restore.split-copy', { SPLIT_COPY_MIN_ROWS: '50' }],
    ['restore.building', {}],
    ['restore.swap', {}],
  ])(
    'at %s: fails with a reason, data and maintenance as before',
    async (point, extra) => {
      const before = await tableHashes(db.pool, TABLES);
      const worker = await armed('worker', point, extra);
      const res = await client(api(), await token()).json<{ jobId: string }>('POST', '/api/backup/restore', {
        backupId,
        skipSafetyBackup: true,
      });
      expect(res.status).toBe(202);
      await killAt(worker, point, async () => {
        if (point === 'restore.split-copy') expect(await copiesRunning()).toBe(2);
      });
      const during = await client(api(), await token()).json<{ maintenance: { active: boolean } }>(
        'GET',
        '/api/system/status',
      );
      expect(during.body.data.maintenance.active).toBe(true);
      expect(await tableHashes(db.pool, TABLES)).toEqual(before);

      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), res.body.data.jobId, { relogin, timeoutMs: 60_000 });
      expect(done.state).toBe('failed');
      expect(done.error).toMatch(/^Interrupted: /);
      await expectSettled();
      expect(await tableHashes(db.pool, TABLES)).toEqual(before);
    },
    DRILL_MS,
  );

  let recoveredRestore: string;
  let beforeRecovered: Awaited<ReturnType<typeof tableHashes>>;

  it(
    'at restore.after-swap: the swap committed, so the restarted worker finishes the restore',
    async () => {
      beforeRecovered = await tableHashes(db.pool, TABLES);
      const worker = await armed('worker', 'restore.after-swap');
      const res = await client(api(), await token()).json<{ jobId: string; operationId: string }>(
        'POST',
        '/api/backup/restore',
        { backupId, skipSafetyBackup: true },
      );
      expect(res.status).toBe(202);
      recoveredRestore = res.body.data.operationId;
      await killAt(worker, 'restore.after-swap');
      // Killed before any bookkeeping: the new tables are live, the old ones wait in the restore point.
      expect(await tableHashes(db.pool, TABLES)).toEqual(backedUp);
      expect(await restorePoints()).toHaveLength(1);

      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), res.body.data.jobId, { relogin, timeoutMs: 60_000 });
      expect(done.state).toBe('completed');
      expect(done.result).toMatchObject({
        recovered: expect.any(String),
        restorePoint: { schema: (await restorePoints())[0] },
      });
      await expectSettled();
      expect(await tableHashes(db.pool, TABLES)).toEqual(backedUp);
      const op = await db.prisma.operation.findUniqueOrThrow({ where: { id: recoveredRestore } });
      expect(op.undoUntil!.getTime()).toBeGreaterThan(Date.now());
    },
    DRILL_MS,
  );

  it(
    'at undo.swap: the undo fails with a reason, the restore stays live and can still be undone',
    async () => {
      const worker = await armed('worker', 'undo.swap');
      const res = await client(api(), await token()).json<{ jobId: string }>(
        'POST',
        `/api/backup/restore/${recoveredRestore}/undo`,
      );
      expect(res.status).toBe(202);
      await killAt(worker, 'undo.swap');
      expect(await tableHashes(db.pool, TABLES)).toEqual(backedUp);

      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), res.body.data.jobId, { relogin, timeoutMs: 60_000 });
      expect(done.state).toBe('failed');
      expect(done.error).toMatch(/^Interrupted: /);
      await expectSettled();
      expect(await tableHashes(db.pool, TABLES)).toEqual(backedUp);
      expect(await restorePoints()).toHaveLength(1);

      // Without a crash, the same undo gives back the tables as they were before the restore.
      const again = await client(api(), await token()).json<{ jobId: string }>(
        'POST',
        `/api/backup/restore/${recoveredRestore}/undo`,
      );
      expect(again.status).toBe(202);
      expect((await waitForJob(api(), await token(), again.body.data.jobId, { relogin })).state).toBe('completed');
      await expectSettled();
      expect(await tableHashes(db.pool, TABLES)).toEqual(beforeRecovered);
      expect(await restorePoints()).toEqual([]);
    },
    DRILL_MS,
  );

  it(
    'then a restore without a crash restores the backup exactly',
    async () => {
      const res = await client(api(), await token()).json<{ jobId: string }>('POST', '/api/backup/restore', {
        backupId,
        skipSafetyBackup: true,
      });
      expect((await waitForJob(api(), await token(), res.body.data.jobId, { relogin })).state).toBe('completed');
      await expectSettled();
      const after = await tableHashes(db.pool, TABLES);
      expect(after).toEqual(backedUp);
    },
    DRILL_MS,
  );
});

describe('worker killed during the background pre-restore export', () => {
  it(
    'mid-table of the export from the restore point: the restore stays done; the retried export completes and is ' +
      'linked',
    async () => {
      const made = await createBackup({ includeAuditLogs: true });
      expect((await waitForJob(api(), await token(), made.jobId)).state).toBe('completed');
      const backedUpNow = await tableHashes(db.pool, TABLES);
      await db.pool.query(
        `UPDATE loans SET notes = 'before the restore' WHERE id IN (SELECT id FROM loans ORDER BY id LIMIT 9)`,
      );
      const worker = await armed('worker', 'export.mid-table', { COMPRESS_THRESHOLD_BYTES: '0' });
      const res = await client(api(), await token()).json<{ jobId: string; operationId: string }>(
        'POST',
        '/api/backup/restore',
        { backupId: made.backupId },
      );
      expect(res.status).toBe(202);
      await killAt(worker, 'export.mid-table');
      // The restore completed before its safety file was started: the user did not wait for it.
      const op = await db.prisma.operation.findUniqueOrThrow({ where: { id: res.body.data.operationId } });
      expect(op.status).toBe('completed');
      expect(await tableHashes(db.pool, TABLES)).toEqual(backedUpNow);
      const safety = await db.prisma.backupRecord.findUniqueOrThrow({ where: { jobId: `pre-restore-${op.id}` } });
      expect(safety.status).toBe('running');

      await stack.restartWorker();
      const linked = await waitFor(
        async () => {
          const row = await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } });
          return (row.result as { safetyBackupId?: string }).safetyBackupId;
        },
        90_000,
        100,
      );
      expect(linked).toBe(safety.id);
      expect(await record(safety.id)).toMatchObject({ type: 'pre_restore', status: 'completed' });
      // The restore logged everyone out.
      await relogin();
      await expectSettled();
      expect(await tableHashes(db.pool, TABLES)).toEqual(backedUpNow);
    },
    DRILL_MS,
  );
});

describe('worker killed during a reset and a prune', () => {
  it(
    'at reset.wipe: the wipe never commits; the reset fails with a reason',
    async () => {
      const before = await tableHashes(db.pool, TABLES);
      const worker = await armed('worker', 'reset.wipe');
      const res = await client(api(), await token()).json<{ jobId: string }>('POST', '/api/backup/reset', {
        confirmationToken: 'DELETE',
      });
      expect(res.status).toBe(202);
      await killAt(worker, 'reset.wipe');
      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), res.body.data.jobId, { timeoutMs: 60_000 });
      expect(done.state).toBe('failed');
      expect(done.error).toMatch(/^Interrupted: /);
      await expectSettled();
      // audit_logs too: the reset's own audit row was in the rolled-back transaction.
      expect(await tableHashes(db.pool, TABLES)).toEqual(before);
    },
    DRILL_MS,
  );

  it(
    'at prune.mid-delete: the retried prune finishes deleting; no listed backup lacks its file',
    async () => {
      // Everything so far is past retention, except the backup made next (kept as the newest).
      await db.pool.query(`UPDATE backup_records SET "createdAt" = now() - interval '400 days'`);
      // The restores above are still in their undo window, which keeps their pre-restore files: close it.
      await db.pool.query(
        `UPDATE operations SET "undoUntil" = now() - interval '1 minute' WHERE "undoUntil" IS NOT NULL`,
      );
      const old = await db.prisma.backupRecord.count({ where: { status: { in: ['completed', 'partial'] } } });
      expect(old).toBeGreaterThan(1);
      const worker = await armed('worker', 'prune.mid-delete');
      const { jobId, backupId } = await createBackup();
      expect((await waitForJob(api(), await token(), jobId)).state).toBe('completed');
      await killAt(worker, 'prune.mid-delete');

      const pastRetention = { createdAt: { lt: new Date(Date.now() - 300 * 86_400_000) } };
      // Stopped with the first record's copies deleted and the record itself not yet.
      expect(await db.prisma.backupRecord.count({ where: pastRetention })).toBeGreaterThan(0);

      await stack.restartWorker();
      await waitFor(async () => (await db.prisma.backupRecord.count({ where: pastRetention })) === 0, 60_000, 100);
      expect((await db.prisma.backupRecord.findMany()).map((r) => r.id)).toEqual([backupId]);
      await expectSettled();
      expect(cloud.resources()).toEqual([]);
    },
    DRILL_MS,
  );
});

describe('API killed between writing the record and queueing the job', () => {
  it(
    'start-up reconciliation queues the backup again, fails an unqueued restore, removes a job without a record',
    async () => {
      const proc = await armed('api', 'api.create.after-record');
      const t = await token();
      const pending = fetch(`${proc.url}/api/backup/create`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: '{}',
      }).catch((err: Error) => err);
      await killAt(proc, 'api.create.after-record');
      expect(await pending).toBeInstanceOf(Error);
      const orphanRecord = await db.prisma.backupRecord.findFirstOrThrow({ where: { status: 'queued' } });

      // The same crash for a restore (the row as requestRestore writes it) and a job whose record is gone.
      const opId = randomUUID();
      await db.pool.query(
        `INSERT INTO operations (id, kind, status, "jobId", input, "createdAt", "updatedAt")
       VALUES ($1, 'restore', 'queued', $1, '{"source":{"kind":"backup","backupId":"${randomUUID()}"}}', now() -
         interval '1 minute', now() - interval '1 minute')`,
        [opId],
      );
      const queue = new Queue('backup', { connection: { url: env.env.REDIS_URL }, prefix: env.env.QUEUE_PREFIX });
      const strayId = randomUUID();
      await queue.add('backup.create', { backupId: strayId }, { jobId: strayId, delay: 3_600_000 });

      await restartApi();
      await stack.worker.kill();
      await stack.restartWorker();
      const done = await waitForJob(api(), await token(), orphanRecord.id, { timeoutMs: 60_000 });
      expect(done.state).toBe('completed');
      const restore = await waitForJob(api(), await token(), opId);
      expect(restore).toMatchObject({
        state: 'failed',
        error: 'Interrupted: the request was interrupted before it was queued; nothing was changed',
      });
      await waitFor(async () => !(await queue.getJob(strayId)), 30_000, 100);
      await queue.close();
      await expectSettled();
      console.info(
        `reconciled restore as the user reads it: ${JSON.stringify({ state: restore.state, error: restore.error })}`,
      );
    },
    DRILL_MS,
  );
});
