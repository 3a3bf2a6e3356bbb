import { readdir } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableHashes, waitFor, type E2eEnvironment, type ServiceProcess, type TestDatabase } from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// A worker killed with SIGKILL in the middle of its work: what is left behind must be safe.
let stack: E2eStack;
let db: TestDatabase;
let env: E2eEnvironment;
let api: ServiceProcess;
let login: () => Promise<string>;
const TABLES = ['unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs'];

/** Polls the job's live progress in Redis until it reports `stage` (and at least `rows` rows). */
async function waitForStage(queueName: string, jobId: string, stage: string, rows = 0) {
  const queue = new Queue(queueName, { connection: { url: env.env.REDIS_URL }, prefix: env.env.QUEUE_PREFIX });
  try {
    return await waitFor(async () => {
      const job = await queue.getJob(jobId);
      const progress = job?.progress as { stage?: string; rows?: number } | undefined;
      return progress?.stage === stage && (progress.rows ?? 0) >= rows;
    }, 60_000, 20);
  } finally {
    await queue.close();
  }
}

beforeAll(async () => {
  // Large enough that export and restore take more than an instant here.
  stack = await startE2eStack({ scale: 60, seed: 5 });
  ({ db, env, api, login } = stack);
}, 120_000);

afterAll(() => stack?.stop());

describe('worker killed mid-export', () => {
  it('retries the job, completes it, leaves no running record and no temporary file', async () => {
    const token = await login();
    const res = await client(api, token).json<{ jobId: string; backupId: string }>('POST', '/api/backup/create', { includeAuditLogs: true });
    expect(res.status).toBe(202);
    // Past the first megabyte, so the file is being written under its temporary name.
    await waitForStage('backup', res.body.data.jobId, 'exporting', 20_000);
    await stack.worker.kill('SIGKILL');
    const files = await readdir(env.backupDir);
    expect(files.filter((f) => f.includes('.tmp-'))).toHaveLength(1);
    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: res.body.data.backupId } });
    expect(record.status).toBe('running');

    await stack.restartWorker();
    const done = await waitForJob(api, token, res.body.data.jobId, { timeoutMs: 90_000 });
    expect(done.state).toBe('completed');
    const after = await readdir(env.backupDir);
    expect(after.filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(after).toHaveLength(1);
    expect(await db.prisma.backupRecord.count({ where: { status: 'running' } })).toBe(0);
  });
});

describe('worker killed mid-restore', () => {
  it('leaves the database unchanged and maintenance off after the restart', async () => {
    const token = await login();
    const created = await client(api, token).json<{ jobId: string; backupId: string }>('POST', '/api/backup/create', { includeAuditLogs: true });
    await waitForJob(api, token, created.body.data.jobId);
    await db.pool.query(`UPDATE loans SET notes = 'after the backup'`);
    const before = await tableHashes(db.pool, TABLES);

    const res = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/restore', { backupId: created.body.data.backupId, skipSafetyBackup: true });
    expect(res.status).toBe(202);
    await waitForStage('maintenance', res.body.data.jobId, 'validating');
    await stack.worker.kill('SIGKILL');
    const staging = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'mp_restore_%'`)).rows[0].n as number;
    expect(await staging()).toBe(1);

    const during = await client(api, await login()).json<{ maintenance: { active: boolean } }>('GET', '/api/system/status');
    expect(during.body.data.maintenance.active).toBe(true);
    expect(await tableHashes(db.pool, TABLES)).toEqual(before);

    await stack.restartWorker();
    const status = await client(api, await login()).json<{ maintenance: { active: boolean } }>('GET', '/api/system/status');
    expect(status.body.data.maintenance.active).toBe(false);
    const op = await db.prisma.operation.findUniqueOrThrow({ where: { id: res.body.data.jobId } });
    expect(op.status).toBe('failed');
    expect(op.error).toMatch(/Interrupted/);
    expect(await staging()).toBe(0);
    expect(await tableHashes(db.pool, TABLES)).toEqual(before);
    // A new backup is accepted again.
    const again = await client(api, await login()).json('POST', '/api/backup/create', {});
    expect(again.status).toBe(202);
  });
});
