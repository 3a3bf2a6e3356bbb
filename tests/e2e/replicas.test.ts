// Several workers and API replicas against one PostgreSQL and Redis, as real processes: each job runs once,
// a dying worker's job goes to another, the scheduler fires once per period, maintenance is seen everywhere.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_SCHEDULER_ID, JOBS, QUEUES } from '@mp/jobs';
import { seedDemoData } from '@mp/db';
import {
  createE2eEnvironment,
  createTestDatabase,
  startService,
  waitFor,
  type E2eEnvironment,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';
import { client, createAdmin, waitForJob } from './helpers.js';

let db: TestDatabase;
let env: E2eEnvironment;
let apis: ServiceProcess[] = [];
const workers: ServiceProcess[] = [];
let token: string;
let queue: Queue;

/** Lines a process logged with this message. */
const logged = (proc: ServiceProcess, msg: string) =>
  proc
    .output()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`));

beforeAll(async () => {
  db = await createTestDatabase();
  await seedDemoData(db, { scale: 1, seed: 5 });
  env = await createE2eEnvironment(db.url);
  apis = await Promise.all([startService('api', env.env), startService('api', env.env)]);
  const { login } = await createAdmin(apis[0]!, db.prisma);
  token = await login();
  queue = new Queue(QUEUES.backup, { connection: { url: env.env.REDIS_URL }, prefix: env.env.QUEUE_PREFIX });
}, 90_000);

afterAll(async () => {
  await queue?.close();
  await Promise.all([...apis, ...workers].map((p) => p.kill('SIGKILL')));
  await db?.drop();
  await env?.cleanup();
});

describe('two APIs and several workers', () => {
  it('a worker that dies mid-backup hands the job to another after the stall interval', async () => {
    // Only the doomed worker runs at first, so it is the one that takes the job; it stops mid-export.
    const doomed = await startService('worker', { ...env.env, FAILPOINTS: 'export.mid-table' });
    const res = await client(apis[0]!, token).json<{ jobId: string; backupId: string }>(
      'POST',
      '/api/backup/create',
      {},
    );
    expect(res.status).toBe(202);
    await waitFor(async () => logged(doomed, 'failpoint').length > 0, 60_000);
    workers.push(await startService('worker', env.env));
    await doomed.kill('SIGKILL');
    const final = await waitForJob(apis[1]!, token, res.body.data.jobId, { timeoutMs: 90_000 });
    expect(final).toMatchObject({ state: 'completed' });
    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: res.body.data.backupId } });
    expect(record.status).toBe('completed');
    // The survivor finished it (its "job completed" line follows the record's update); the doomed worker never did.
    await waitFor(
      async () => logged(workers[0]!, 'job completed').some((l) => l.includes(`"jobId":"${res.body.data.jobId}"`)),
      30_000,
    );
    expect(logged(doomed, 'job completed').filter((l) => l.includes(`"jobId":"${res.body.data.jobId}"`))).toEqual([]);
  }, 180_000);

  it('runs each job exactly once, whichever API took it', async () => {
    workers.push(await startService('worker', env.env));
    const accepted = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client(apis[i % 2]!, token).json<{ jobId: string; backupId: string }>('POST', '/api/backup/create', {}),
      ),
    );
    expect(accepted.map((a) => a.status)).toEqual(Array(6).fill(202));
    for (const a of accepted)
      expect(await waitForJob(apis[0]!, token, a.body.data.jobId, { timeoutMs: 90_000 })).toMatchObject({
        state: 'completed',
      });
    const completions = (id: string) =>
      workers.flatMap((w) => logged(w, 'job completed').filter((l) => l.includes(`"jobId":"${id}"`)));
    // BullMQ logs the completion just after the handler updated the record: wait for every line first.
    for (const a of accepted) await waitFor(async () => completions(a.body.data.jobId).length > 0, 30_000);
    for (const a of accepted) {
      const id = a.body.data.jobId;
      const runs = completions(id);
      expect(runs, `job ${id} completions`).toHaveLength(1);
      const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: a.body.data.backupId } });
      expect(record.attempts).toBe(1);
    }
  }, 180_000);

  it('keeps one backup scheduler however many workers sync it, and fires it once per period', async () => {
    // Every worker upserts the scheduler at start-up under one fixed id.
    const schedulers = (await queue.getJobSchedulers()).filter(
      (s) => s.key === BACKUP_SCHEDULER_ID || s.id === BACKUP_SCHEDULER_ID,
    );
    expect(workers).toHaveLength(2);
    expect(schedulers).toHaveLength(1);
    // A period of two seconds, set through the same scheduler id the product uses.
    await queue.upsertJobScheduler(
      BACKUP_SCHEDULER_ID,
      { every: 2000 },
      { name: 'backup.scheduled', data: {}, opts: { ...JOBS['backup.scheduled'].options } },
    );
    await waitFor(
      async () => (await db.prisma.backupRecord.count({ where: { type: 'scheduled', status: 'completed' } })) >= 3,
      90_000,
      250,
    );
    await queue.removeJobScheduler(BACKUP_SCHEDULER_ID);
    await waitFor(
      async () =>
        (await db.prisma.backupRecord.count({
          where: { type: 'scheduled', status: { in: ['queued', 'running'] } },
        })) === 0,
      60_000,
      250,
    );
    const records = await db.prisma.backupRecord.findMany({ where: { type: 'scheduled' } });
    // One record per fired job (job ids carry the period's time): no period ran twice.
    const jobIds = records.map((r) => r.jobId);
    expect(new Set(jobIds).size).toBe(records.length);
    const periods = jobIds.map((id) => Number(/:(\d+)$/.exec(id ?? '')?.[1]));
    expect(periods.every((p) => Number.isFinite(p) && p > 0)).toBe(true);
    expect(new Set(periods).size).toBe(records.length);
    for (const r of records) expect(r.attempts).toBe(1);
  }, 180_000);

  it('shows maintenance mode on both APIs at once, and its end', async () => {
    // What a restore does to turn maintenance on: the shared row, which every API reads.
    await db.pool.query(
      `INSERT INTO maintenance_state (id, active, reason, since) VALUES ('global', true, 'restore', now())
       ON CONFLICT (id) DO UPDATE SET active = true, reason = 'restore', since = now()`,
    );
    try {
      for (const api of apis) {
        const res = await client(api, token).json('POST', '/api/backup/create', {});
        expect(res.status).toBe(503);
        expect(res.body.error?.code).toBe('MAINTENANCE_ACTIVE');
      }
    } finally {
      await db.pool.query(
        `UPDATE maintenance_state SET active = false, reason = null, since = null WHERE id = 'global'`,
      );
    }
    for (const api of apis) {
      const res = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/create', {});
      expect(res.status).toBe(202);
      expect(await waitForJob(api, token, res.body.data.jobId, { timeoutMs: 90_000 })).toMatchObject({
        state: 'completed',
      });
    }
  }, 180_000);
});
