import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enterMaintenance, exitMaintenance, readRecordStorage, syncBackupScheduler } from '@mp/core';
import { seedDemoData, type BackupRecord } from '@mp/db';
import { QUEUES, type Producer } from '@mp/jobs';
import { waitFor, waitForSettledJob, type TestDatabase } from '@mp/testing';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

// Jobs through the worker's own start-up code and real handlers, in this process.
let db: TestDatabase;
let dir: string;
let producer: Producer;
let worker: InProcessWorker;

beforeAll(async () => {
  worker = await startInProcessWorker({
    prefix: 'wm',
    env: { MAINTENANCE_RECHECK_MS: '300' },
    beforeStart: async (fresh) => {
      await seedDemoData(fresh, { scale: 1, seed: 8 });
    },
  });
  ({ db, dir, producer } = worker);
});

afterAll(async () => {
  await worker?.close();
});

describe('backup during maintenance', () => {
  it('waits without using an attempt, then runs once maintenance is over', async () => {
    await enterMaintenance(db.prisma, { reason: 'restore', jobId: 'some-restore' });
    const record = await db.prisma.backupRecord.create({
      data: { filename: 'backup_waiting.json', type: 'manual', location: 'local', options: {} },
    });
    await producer.enqueue('backup.create', { backupId: record.id }, { jobId: record.id });

    const waiting = await waitFor(async () => {
      const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: record.id } });
      return row.error?.startsWith('Waiting: maintenance') ? row : undefined;
    }, 10_000);
    expect(waiting.status).toBe('queued');
    // Each recheck writes the waiting note again: wait for two more of them, not for a guessed time.
    const rechecks = new Set([waiting.updatedAt.getTime()]);
    await waitFor(
      async () => {
        const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: record.id } });
        expect(row.status).toBe('queued');
        rechecks.add(row.updatedAt.getTime());
        return rechecks.size >= 3;
      },
      10_000,
      50,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('backup_waiting'))).toEqual([]);

    await exitMaintenance(db.prisma);
    const done = await waitFor(async () => {
      const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: record.id } });
      return row.status === 'completed' ? row : undefined;
    }, 15_000);
    expect(done.attempts).toBe(1);
    expect(done.error).toBeNull();
  });
});

describe('scheduled backup', () => {
  it(
    "a scheduler run becomes a completed `scheduled` backup with the schedule's options, then retention " + 'runs',
    async () => {
      await db.prisma.backupSchedule.upsert({
        where: { id: 'default' },
        create: { id: 'default', frequency: 'daily', includeAuditLogs: true, retentionDays: 30 },
        update: { frequency: 'daily', includeAuditLogs: true, retentionDays: 30 },
      });
      const queue = producer.queue(QUEUES.backup);
      // Every second instead of 02:00, so the test need not wait for the night.
      await syncBackupScheduler(queue, { frequency: 'daily' }, { timezone: 'UTC', pattern: '* * * * * *' });
      let done: BackupRecord;
      try {
        done = await waitFor(async () => {
          const row = await db.prisma.backupRecord.findFirst({ where: { type: 'scheduled', status: 'completed' } });
          return row ?? undefined;
        }, 20_000);
      } finally {
        await syncBackupScheduler(queue, { frequency: 'disabled' }, { timezone: 'UTC' });
      }
      expect(done).toMatchObject({
        createdBy: 'scheduler',
        location: 'local',
        options: { includeAuditLogs: true, includeSessions: false },
      });
      expect((done.recordCounts as Record<string, number>).auditLogs).toBeGreaterThan(0);
      const key = readRecordStorage(done.storage).local?.key;
      expect((await readdir(dir)).includes(key!)).toBe(true);
      // Every successful backup is followed by a retention prune.
      await waitFor(
        async () =>
          (await db.prisma.operation.count({
            where: { kind: 'prune', status: 'completed', jobId: `prune-after-${done.id}` },
          })) === 1,
        10_000,
      );
    },
  );
});

describe('a retried job whose operation is already final', () => {
  /** A `backup.verify` job for an operation that is already `status`, completed earlier by job `doneBy`. */
  async function retryOf(status: 'completed' | 'failed', doneBy: 'this job' | 'another job') {
    const jobId = randomUUID();
    const completedAt = new Date(Date.now() - 60_000);
    const op = await db.prisma.operation.create({
      data: {
        kind: 'verify',
        status,
        jobId: doneBy === 'this job' ? jobId : randomUUID(),
        input: { backupId: randomUUID() },
        result: { ok: true },
        completedAt,
      },
    });
    await producer.enqueue('backup.verify', { operationId: op.id, backupId: randomUUID() }, { jobId });
    const job = await waitForSettledJob(producer.queue(QUEUES.backup), jobId, 30_000);
    const after = await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } });
    return { job, before: op, after };
  }

  it('completes without running again when this same job completed it (its worker died after the write)', async () => {
    const { job, before, after } = await retryOf('completed', 'this job');
    expect(job.state).toBe('completed');
    expect(after).toEqual(before);
  });

  it('fails as not waiting to run when another job finished it, or it failed', async () => {
    for (const [status, doneBy] of [
      ['completed', 'another job'],
      ['failed', 'this job'],
    ] as const) {
      const { job, before, after } = await retryOf(status, doneBy);
      expect(job).toMatchObject({ state: 'failed', reason: expect.stringMatching(/is not waiting to run/) });
      expect(after).toEqual(before);
    }
  });
});
