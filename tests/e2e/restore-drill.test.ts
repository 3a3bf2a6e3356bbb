import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, createScratchDatabase, DRILL_INTERRUPTED, readRecordStorage } from '@mp/core';
import { DRILL_SCHEDULER_ID, QUEUES } from '@mp/jobs';
import { startService, tableHashes, waitFor, waitForSettledJob, type ServiceProcess } from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// Restore drills through the API and a real worker process: the live database is never touched, the
// scratch database is always dropped (after success, after a failure, after a SIGKILL and a restart).
let stack: E2eStack;
let token: string;
let queue: Queue;
const ALL = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs', 'sessions'];

const http = () => client(stack.api, token);
const scratchDatabases = async () =>
  (
    await stack.db.pool.query<{ name: string }>(`SELECT datname AS name FROM pg_database
        WHERE datname LIKE 'mp\\_drill\\_%' AND shobj_description(oid, 'pg_database') = 'restore drill of ' ||
          current_database()
        ORDER BY 1`)
  ).rows.map((r) => r.name);

async function createBackup(): Promise<string> {
  const res = await http().json<{ backupId: string; jobId: string }>('POST', '/api/backup/create', {
    includeAuditLogs: true,
  });
  expect(res.status).toBe(202);
  expect((await waitForJob(stack.api, token, res.body.data.jobId)).state).toBe('completed');
  return res.body.data.backupId;
}

async function drill(backupId: string) {
  const res = await http().json<{ jobId: string; statusUrl: string }>('POST', `/api/backup/${backupId}/drill`);
  expect(res.status).toBe(202);
  expect(res.body.data.statusUrl).toBe(`/api/backup/jobs/${res.body.data.jobId}`);
  return res.body.data.jobId;
}

beforeAll(async () => {
  stack = await startE2eStack({
    scale: 8,
    seed: 12,
    env: { RECONCILE_GRACE_MS: '2000', JOB_LOCK_MS: '3000', JOB_STALLED_INTERVAL_MS: '500' },
  });
  token = await stack.login();
  queue = new Queue(QUEUES.backup, {
    connection: new Redis(stack.env.env.REDIS_URL!) as unknown as ConnectionOptions,
    prefix: stack.env.env.QUEUE_PREFIX,
  });
}, 120_000);

afterAll(async () => {
  await queue?.close();
  await stack?.stop();
});

describe('restore drills', () => {
  it('a scheduled drill with nothing to drill completes with a note and creates no drill', async () => {
    await queue.add('backup.scheduled-drill', {}, { jobId: 'scheduled-drill-empty' });
    const done = await waitForSettledJob(queue, 'scheduled-drill-empty');
    expect(done.state).toBe('completed');
    expect(done.value).toEqual({ note: 'No completed backup to drill yet; nothing was done' });
    expect(await stack.db.prisma.operation.count({ where: { kind: 'drill' } })).toBe(0);
  });

  it(
    'restores into a scratch database, matches the file table by table, leaves the live database untouched, and is ' +
      'listed',
    async () => {
      const backupId = await createBackup();
      const before = await tableHashes(stack.db.pool, ALL);
      const jobId = await drill(backupId);
      const done = await waitForJob(stack.api, token, jobId);
      expect(done.error ?? null).toBeNull();
      expect(done.state).toBe('completed');
      const result = done.result as {
        backupId: string;
        ok: boolean;
        rtoSeconds: number;
        checkedSeconds: number;
        restoreSeconds: number;
        rowsPerSecond: number;
        rows: number;
        tables: Record<string, { rows: number; fileRows: number; hashOk: boolean }>;
        invariants: { rule: string; count: number; examples: string[] }[];
      };
      expect(result).toMatchObject({ backupId, ok: true });
      expect(result.rtoSeconds).toBeGreaterThan(0);
      // Usable before it is checked: the restore is inside the recovery time, the comparison with the file after it.
      expect(result.restoreSeconds).toBeLessThanOrEqual(result.rtoSeconds);
      expect(result.checkedSeconds).toBeGreaterThanOrEqual(result.rtoSeconds);
      expect(result.rowsPerSecond).toBeGreaterThan(0);
      const record = await stack.db.prisma.backupRecord.findUniqueOrThrow({ where: { id: backupId } });
      const counts = record.recordCounts as Record<string, number>;
      expect(Object.keys(result.tables).sort()).toEqual(Object.keys(counts).sort());
      for (const [key, t] of Object.entries(result.tables))
        expect(t, key).toEqual({ rows: counts[key], fileRows: counts[key], hashOk: true });
      expect(result.rows).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
      expect(Array.isArray(result.invariants)).toBe(true);

      expect(await tableHashes(stack.db.pool, ALL)).toEqual(before);
      expect(await scratchDatabases()).toEqual([]);

      const listed = await http().json<{ items: Record<string, unknown>[]; nextCursor: string | null }>(
        'GET',
        '/api/backup/drills?limit=1',
      );
      expect(listed.status).toBe(200);
      expect(listed.body.data.items[0]).toMatchObject({
        jobId,
        status: 'completed',
        backupId,
        ok: true,
        error: null,
        rtoSeconds: result.rtoSeconds,
      });
    },
  );

  it('the scheduled drill runs on the newest completed backup', async () => {
    const newest = await createBackup();
    await queue.add('backup.scheduled-drill', {}, { jobId: 'scheduled-drill-1' });
    expect((await waitForSettledJob(queue, 'scheduled-drill-1')).state).toBe('completed');
    const op = await stack.db.prisma.operation.findUniqueOrThrow({ where: { jobId: 'scheduled-drill-1' } });
    expect(op).toMatchObject({ kind: 'drill', status: 'completed', backupId: newest, createdBy: 'scheduler' });
    expect(op.result).toMatchObject({ ok: true, backupId: newest });

    const list = await http().json<{ items: { jobId: string }[]; nextCursor: string | null }>(
      'GET',
      '/api/backup/drills?limit=1',
    );
    expect(list.body.data.items.map((i) => i.jobId)).toEqual(['scheduled-drill-1']);
    const next = await http().json<{ items: { backupId: string }[] }>(
      'GET',
      `/api/backup/drills?limit=5&cursor=${list.body.data.nextCursor}`,
    );
    expect(next.body.data.items).toHaveLength(1);
  });

  it('drillFrequency is set through the schedule PUT and drives the drill scheduler', async () => {
    expect(
      (await http().json<{ drillFrequency: string }>('GET', '/api/backup/schedule')).body.data.drillFrequency,
    ).toBe('weekly');
    // The worker asserted the default (weekly, 04:00 on Sunday) at start-up.
    expect((await queue.getJobScheduler(DRILL_SCHEDULER_ID))?.pattern).toBe('0 4 * * 0');
    const daily = await http().json<{ drillFrequency: string }>('PUT', '/api/backup/schedule', {
      drillFrequency: 'daily',
    });
    expect(daily.status).toBe(200);
    expect(daily.body.data.drillFrequency).toBe('daily');
    expect((await queue.getJobScheduler(DRILL_SCHEDULER_ID))?.pattern).toBe('0 4 * * *');
    await http().json('PUT', '/api/backup/schedule', { drillFrequency: 'disabled' });
    expect(await queue.getJobScheduler(DRILL_SCHEDULER_ID)).toBeUndefined();
    expect((await http().json('PUT', '/api/backup/schedule', { drillFrequency: 'hourly' })).status).toBe(400);
  });

  it(
    'a drill of a damaged stored file fails with a readable one-line error and drops its scratch ' + 'database',
    async () => {
      const backupId = await createBackup();
      const record = await stack.db.prisma.backupRecord.findUniqueOrThrow({ where: { id: backupId } });
      const file = path.join(stack.env.backupDir, readRecordStorage(record.storage).local!.key);
      const bytes = await readFile(file);
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = bytes[middle]! ^ 0xff;
      await writeFile(file, bytes);

      const jobId = await drill(backupId);
      const done = await waitForJob(stack.api, token, jobId);
      expect(done.state).toBe('failed');
      expect(done.error).toMatch(/^Restore drill failed: The stored backup file does not match its recorded checksum/);
      expect(done.error).not.toContain('\n');
      expect(await scratchDatabases()).toEqual([]);
      const listed = await http().json<{ items: Record<string, unknown>[] }>('GET', '/api/backup/drills?limit=1');
      expect(listed.body.data.items[0]).toMatchObject({ jobId, status: 'failed', ok: null, error: done.error });
    },
  );

  it('a worker killed mid-restore leaves a scratch database that the restarted worker drops', async () => {
    const backupId = await createBackup();
    await stack.worker.kill();
    const armed: ServiceProcess = await startService('worker', { ...stack.env.env, FAILPOINTS: 'restore.staging' });
    stack.worker = armed;
    const jobId = await drill(backupId);
    const reached = () =>
      armed
        .output()
        .split('\n')
        .some((l) => l.includes('"msg":"failpoint"') && l.includes('"point":"restore.staging"'));
    await waitFor(async () => reached(), 60_000, 25);
    expect(await armed.kill('SIGKILL')).toBeNull();
    expect(await scratchDatabases()).toHaveLength(1);

    await stack.restartWorker();
    await waitFor(async () => (await scratchDatabases()).length === 0, 30_000);
    const op = await waitFor(async () => {
      const row = await stack.db.prisma.operation.findUniqueOrThrow({ where: { id: jobId } });
      return row.status === 'failed' ? row : undefined;
    }, 30_000);
    expect(op.error).toBe(DRILL_INTERRUPTED);
  });

  it('refuses, with how to fix it, a role that may not create databases', async () => {
    const admin = new pg.Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
    await admin.connect();
    const role = `drill_nocreate_${process.pid}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'drill-test-only' NOCREATEDB`);
    try {
      const url = new URL(stack.db.url);
      url.username = role;
      url.password = 'drill-test-only';
      const limited = new pg.Client({ connectionString: url.toString() });
      await limited.connect();
      const err = await createScratchDatabase(limited, 'mp_drill_refused').catch((e: unknown) => e);
      await limited.end();
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({
        code: 'DRILL_NOT_PERMITTED',
        message: expect.stringContaining(`ALTER ROLE "${role}" CREATEDB`),
      });
      expect(await scratchDatabases()).toEqual([]);
    } finally {
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    }
  });
});
