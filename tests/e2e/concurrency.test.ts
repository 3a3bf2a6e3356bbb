import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '@mp/db';
import {
  BACKUP_SCHEDULER_ID,
  DRILL_SCHEDULER_ID,
  HEALTH_SCHEDULER_ID,
  PRUNE_SCHEDULER_ID,
  QUEUES,
  RESTORE_POINTS_SCHEDULER_ID,
} from '@mp/jobs';
import {
  createE2eEnvironment,
  createTestDatabase,
  startService,
  waitFor,
  type E2eEnvironment,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';
import { client, createAdmin, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// Concurrency and load: many creates at once, restore/reset overlap, and two API and two
// worker processes sharing one queue.

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('one API and one worker under concurrent requests', () => {
  let stack: E2eStack;
  let token: string;
  let backupId: string;

  beforeAll(async () => {
    stack = await startE2eStack({ scale: 0.2, seed: 11 });
    token = await stack.login();
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('50 concurrent creates all complete, each with its own file and checksum', async () => {
    const api = client(stack.api, token);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        api.json<{ backupId: string; filename: string }>('POST', '/api/backup/create', {}),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(202));
    const ids = answers.map((a) => a.body.data.backupId);
    const finals = await Promise.all(ids.map((id) => waitForJob(stack.api, token, id, { timeoutMs: 120_000 })));
    expect(finals.map((f) => f.state)).toEqual(Array(50).fill('completed'));

    const records = await stack.db.prisma.backupRecord.findMany({ where: { id: { in: ids } } });
    expect(records).toHaveLength(50);
    expect(records.every((r) => r.status === 'completed' && r.attempts === 1)).toBe(true);
    expect(new Set(records.map((r) => r.filename)).size).toBe(50);
    const onDisk = (await readdir(stack.env.backupDir)).filter((f) => f.startsWith('backup_'));
    expect(onDisk.sort()).toEqual(records.map((r) => r.filename).sort());
    for (const r of records) expect(await sha256(path.join(stack.env.backupDir, r.filename))).toBe(r.checksum);
    backupId = ids[0]!;
  }, 150_000);

  /** The second of two overlapping requests is refused, naming the first (409 while queued, 503 once it runs). */
  function expectRefusedFor(
    res: { status: number; body: { error?: { code: string; details?: unknown } } },
    firstJobId: string,
  ) {
    const refusal = [res.status, res.body.error?.code];
    expect([
      [409, 'OPERATION_IN_PROGRESS'],
      [503, 'MAINTENANCE_ACTIVE'],
    ]).toContainEqual(refusal);
    expect(res.body.error?.details).toMatchObject({ jobId: firstJobId });
  }

  /** A fresh admin: a reset deletes every account (the stack's admin too), a restore logs everyone out. */
  async function freshLogin(): Promise<string> {
    const admin = await createAdmin(stack.api, stack.db.prisma);
    stack.login = admin.login;
    return admin.login();
  }

  async function settle(jobId: string) {
    const final = await waitForJob(stack.api, token, jobId, { relogin: freshLogin, timeoutMs: 60_000 });
    expect(final.state).toBe('completed');
    token = await freshLogin();
  }

  it('restore then reset: the reset is refused while the restore is queued or running', async () => {
    const api = client(stack.api, token);
    const restore = await api.json<{ jobId: string }>('POST', '/api/backup/restore', {
      backupId,
      skipSafetyBackup: true,
    });
    expect(restore.status).toBe(202);
    const reset = await api.json('POST', '/api/backup/reset', { confirmationToken: 'DELETE' });
    expectRefusedFor(reset, restore.body.data.jobId);
    await settle(restore.body.data.jobId);
  }, 90_000);

  it('reset then restore: the restore is refused while the reset is queued or running', async () => {
    const api = client(stack.api, token);
    const reset = await api.json<{ jobId: string }>('POST', '/api/backup/reset', { confirmationToken: 'DELETE' });
    expect(reset.status).toBe(202);
    const restore = await api.json('POST', '/api/backup/restore', { backupId });
    expectRefusedFor(restore, reset.body.data.jobId);
    await settle(reset.body.data.jobId);
  }, 90_000);

  it('concurrent restores and resets: exactly one is accepted', async () => {
    const api = client(stack.api, token);
    const [a, b, c, d] = await Promise.all([
      api.json<{ jobId: string }>('POST', '/api/backup/restore', { backupId, skipSafetyBackup: true }),
      api.json<{ jobId: string }>('POST', '/api/backup/reset', { confirmationToken: 'DELETE' }),
      api.json<{ jobId: string }>('POST', '/api/backup/restore', { backupId, skipSafetyBackup: true }),
      api.json<{ jobId: string }>('POST', '/api/backup/reset', { confirmationToken: 'DELETE' }),
    ]);
    const all = [a, b, c, d];
    const accepted = all.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    const jobId = accepted[0]!.body.data.jobId;
    for (const r of all.filter((x) => x.status !== 202)) expectRefusedFor(r, jobId);
    const ops = await stack.db.prisma.operation.findMany({
      where: { kind: { in: ['restore', 'reset'] }, createdAt: { gt: new Date(Date.now() - 60_000) } },
    });
    expect(ops.filter((o) => o.status !== 'completed' && o.id !== jobId)).toEqual([]);
    await settle(jobId);
  }, 90_000);
});

describe('two API and two worker processes on one queue', () => {
  let db: TestDatabase;
  let env: E2eEnvironment;
  let procs: ServiceProcess[] = [];
  let queue: Queue | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedDemoData(db, { scale: 0.2, seed: 12 });
    env = await createE2eEnvironment(db.url);
    // Started together on purpose (both workers re-assert the schedulers at start-up); four processes booting at
    // once on a busy two-core machine need more than startService's default 30 s.
    const start = (kind: 'api' | 'worker') => startService(kind, env.env, 90_000);
    procs = await Promise.all([start('api'), start('api'), start('worker'), start('worker')]);
    queue = new Queue(QUEUES.backup, { connection: { url: env.env.REDIS_URL }, prefix: env.env.QUEUE_PREFIX });
  }, 120_000);
  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => {});
    await queue?.close();
    await Promise.all(procs.map((p) => p.kill()));
    await db?.drop();
    await env?.cleanup();
  });

  it('runs each job once, on one of the workers, and keeps one scheduler of each kind', async () => {
    const [apiA, apiB, workerA, workerB] = procs as [ServiceProcess, ServiceProcess, ServiceProcess, ServiceProcess];
    const { login } = await createAdmin(apiA, db.prisma);
    const token = await login();
    const schedule = { frequency: 'daily' };
    const puts = await Promise.all(
      [apiA, apiB].map((api) => client(api, token).json('PUT', '/api/backup/schedule', schedule)),
    );
    expect(puts.map((p) => p.status)).toEqual([200, 200]);

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client(i % 2 ? apiB : apiA, token).json<{ backupId: string }>('POST', '/api/backup/create', {}),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const ids = answers.map((a) => a.body.data.backupId);
    const finals = await Promise.all(ids.map((id, i) => waitForJob(i % 2 ? apiB : apiA, token, id)));
    expect(finals.map((f) => f.state)).toEqual(Array(20).fill('completed'));

    const records = await db.prisma.backupRecord.findMany({ where: { id: { in: ids } } });
    expect(records.map((r) => r.attempts)).toEqual(Array(20).fill(1));
    expect((await readdir(env.backupDir)).filter((f) => f.startsWith('backup_'))).toHaveLength(20);
    const runs = (out: string, id: string) =>
      out.split('\n').filter((l) => l.includes('"msg":"job completed"') && l.includes(`"jobId":"${id}"`)).length;
    // The record is completed just before BullMQ's own completion (and its log line): wait for the lines.
    await waitFor(async () => ids.every((id) => runs(workerA.output(), id) + runs(workerB.output(), id) > 0), 30_000);
    for (const id of ids) expect(runs(workerA.output(), id) + runs(workerB.output(), id)).toBe(1);
    // Both workers took part (20 jobs, two workers of concurrency 2).
    expect(
      ids.some((id) => runs(workerA.output(), id) === 1) && ids.some((id) => runs(workerB.output(), id) === 1),
    ).toBe(true);

    const schedulers = await queue!.getJobSchedulers();
    const schedulerIds = [
      BACKUP_SCHEDULER_ID,
      DRILL_SCHEDULER_ID,
      HEALTH_SCHEDULER_ID,
      PRUNE_SCHEDULER_ID,
      RESTORE_POINTS_SCHEDULER_ID,
    ];
    expect(schedulers.map((s) => s.key).sort()).toEqual([...schedulerIds].sort());
    // One pending run each (the health check may be running right now instead of waiting).
    const pending = [...(await queue!.getDelayed()), ...(await queue!.getWaiting()), ...(await queue!.getActive())];
    for (const id of schedulerIds)
      expect(pending.filter((j) => j.repeatJobKey === id).length, id).toBeLessThanOrEqual(1);
    for (const id of [BACKUP_SCHEDULER_ID, DRILL_SCHEDULER_ID, PRUNE_SCHEDULER_ID, RESTORE_POINTS_SCHEDULER_ID]) {
      expect(pending.filter((j) => j.repeatJobKey === id).length, id).toBe(1);
    }
  }, 120_000);
});
