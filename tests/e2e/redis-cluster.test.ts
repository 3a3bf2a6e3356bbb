// The queues on a real Redis Cluster (three masters on loopback): create, restore and the scheduler work, and
// keep working when the master holding the queues' slot is killed and restarted mid-run.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_SCHEDULER_ID, JOBS, QUEUES, createProducer } from '@mp/jobs';
import { seedDemoData } from '@mp/db';
import { parseConfig, workerEnvSchema } from '@mp/config';
import {
  createE2eEnvironment,
  createTestDatabase,
  startPrivateRedisCluster,
  startService,
  tableHashes,
  waitFor,
  type E2eEnvironment,
  type PrivateRedisCluster,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';
import { client, createAdmin, waitForJob } from './helpers.js';

const run = promisify(execFile);
const CORE = ['unions', 'union_members', 'loan_types', 'loans', 'repayments'];
let cluster: PrivateRedisCluster;
let db: TestDatabase;
let env: E2eEnvironment;
let api: ServiceProcess;
let worker: ServiceProcess;
let login: () => Promise<string>;
let token: string;
let prefix: string;

beforeAll(async () => {
  cluster = await startPrivateRedisCluster();
  db = await createTestDatabase();
  await seedDemoData(db, { scale: 1, seed: 13 });
  prefix = `{e2e${randomBytes(4).toString('hex')}}`;
  env = await createE2eEnvironment(db.url, { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', QUEUE_PREFIX: prefix });
  [api, worker] = await Promise.all([startService('api', env.env), startService('worker', env.env)]);
  ({ login } = await createAdmin(api, db.prisma));
  token = await login();
}, 120_000);

afterAll(async () => {
  await Promise.all([api?.kill(), worker?.kill()]);
  await db?.drop();
  await env?.cleanup();
  await cluster?.dispose();
});

/** What a refused request answered, and what the API logged at warn and above, for the failure's message. */
function refusal(res: { status: number; body: unknown }): string {
  const logged = api
    .output()
    .split('\n')
    .filter((line) => /"level":(4|5|6)0/.test(line))
    .slice(-10);
  return `answered ${res.status} ${JSON.stringify(res.body)}; the API logged:\n${logged.join('\n')}`;
}

/** Enqueues a job at once through a producer created just now, under a prefix of its own (`{<tag>…}`). */
async function enqueueOnNewProducer(tag: string): Promise<void> {
  const producer = createProducer({ redisUrl: cluster.url, cluster: true, prefix: `{${tag}${prefix.slice(1)}` });
  try {
    const backupId = randomUUID();
    await expect(producer.enqueue('backup.create', { backupId }, { jobId: backupId })).resolves.toBe(backupId);
    await producer.queue(QUEUES.backup).obliterate({ force: true });
  } finally {
    await producer.close();
  }
}

describe('Redis Cluster', () => {
  it('refuses a prefix that is not hash-tagged, naming the fix', () => {
    expect(() => parseConfig(workerEnvSchema, { ...env.env, QUEUE_PREFIX: 'mp' })).toThrow(
      /QUEUE_PREFIX: with REDIS_CLUSTER=true the prefix must be hash-tagged.*use \{mp\}/s,
    );
  });

  it('queues a job asked for while its first connection to the cluster is still being made', async () => {
    // As the API does for a request just after start: connecting to a cluster takes several round trips.
    await enqueueOnNewProducer('p');
  });

  it('queues a job asked for while the node it connects through answers nothing for over a second', async () => {
    // A busy Redis (or a busy process reading its answer late) at start: the cluster's map of slots comes late. The
    // first attempt must wait for it rather than fail and leave the producer refusing jobs while it reconnects.
    const resume = await cluster.pause(cluster.ports[0]!);
    const resumed = sleep(1_300).then(resume);
    try {
      await enqueueOnNewProducer('s');
    } finally {
      await resumed;
    }
  });

  it('takes a backup and restores it through queues on the cluster', async () => {
    const created = await client(api, token).json<{ jobId: string; backupId: string }>(
      'POST',
      '/api/backup/create',
      {},
    );
    expect(created.status, refusal(created)).toBe(202);
    expect(await waitForJob(api, token, created.body.data.jobId, { timeoutMs: 90_000 })).toMatchObject({
      state: 'completed',
    });
    const before = await tableHashes(db.pool, CORE);
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments ORDER BY id LIMIT 4)`);
    const restore = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/restore', {
      backupId: created.body.data.backupId,
      skipSafetyBackup: true,
    });
    expect(restore.status).toBe(202);
    expect(await waitForJob(api, token, restore.body.data.jobId, { relogin: login, timeoutMs: 90_000 })).toMatchObject({
      state: 'completed',
    });
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
    token = await login();
  }, 180_000);

  it('keeps the queue keys in one slot and goes on after that master is killed and restarted mid-run', async () => {
    // Every key of every queue shares the prefix's hash tag, so one master holds them all.
    const owner = await cluster.ownerOf(prefix);
    const keysPerNode = await Promise.all(
      cluster.ports.map(async (port) => {
        const { stdout } = await run('redis-cli', ['-p', String(port), '--scan', '--pattern', `${prefix}:*`]);
        return { port, keys: stdout.split('\n').filter(Boolean).length };
      }),
    );
    expect(keysPerNode.filter((n) => n.keys > 0).map((n) => n.port)).toEqual([owner]);

    // A backup in flight while the master restarts: it completes once the cluster is whole again.
    const created = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/create', {
      includeAuditLogs: true,
    });
    expect(created.status, refusal(created)).toBe(202);
    await cluster.restart(owner);
    expect(await waitForJob(api, token, created.body.data.jobId, { timeoutMs: 120_000 })).toMatchObject({
      state: 'completed',
    });

    // And new work after the restart.
    const after = await waitFor(
      async () => {
        const res = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/create', {});
        return res.status === 202 ? res.body.data : undefined;
      },
      60_000,
      500,
    );
    expect(await waitForJob(api, token, after.jobId, { timeoutMs: 90_000 })).toMatchObject({ state: 'completed' });
  }, 240_000);

  it('fires the backup scheduler on the cluster', async () => {
    const connection = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }], {
      redisOptions: { maxRetriesPerRequest: null },
    });
    const queue = new Queue(QUEUES.backup, { connection: connection as never, prefix });
    try {
      await queue.upsertJobScheduler(
        BACKUP_SCHEDULER_ID,
        { every: 2000 },
        { name: 'backup.scheduled', data: {}, opts: { ...JOBS['backup.scheduled'].options } },
      );
      await waitFor(
        async () => (await db.prisma.backupRecord.count({ where: { type: 'scheduled', status: 'completed' } })) >= 2,
        90_000,
        250,
      );
      await queue.removeJobScheduler(BACKUP_SCHEDULER_ID);
      const records = await db.prisma.backupRecord.findMany({ where: { type: 'scheduled' } });
      expect(new Set(records.map((r) => r.jobId)).size).toBe(records.length);
    } finally {
      await queue.close();
      // BullMQ leaves a connection it was given open: left, it retried against the stopped cluster after the file.
      connection.disconnect();
    }
  }, 180_000);
});
