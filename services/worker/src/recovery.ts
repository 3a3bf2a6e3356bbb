import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  dropAbandonedDrills,
  dropStaleRestorePoints,
  EXCLUSIVE_KINDS,
  LIVE_TABLES_LOCK,
  exitMaintenance,
  finishInterruptedSwaps,
  isRestorePoint,
  preRestoreJobId,
  STAGING_SCHEMA_PREFIX,
  uploadPathOf,
} from '@mp/core';
import { JOBS, QUEUES, type JobName, type QueueName } from '@mp/jobs';
import type { WorkerDeps } from './deps.js';
import { releaseLiveTablesLock, tryLockForSession } from '@mp/core';

/**
 * Cleans up after a worker that died during a restore, reset, undo or drill. A drill's abandoned scratch
 * database is dropped and its operation failed (`dropAbandonedDrills`). When no live worker holds the
 * run lock, it decides from the catalog how far each interrupted operation got. A restore whose swap
 * committed (its restore point exists) or an undo whose swap committed (its restore point is gone) is
 * finished: the new tables are live, so only the bookkeeping was missing. Every other one is failed:
 * its transaction died with the connection, so the database is as it was before it. Then maintenance
 * mode is turned off, staging schemas are dropped and stale restore points with them.
 * Runs at start-up and periodically (the killed worker's connection may hold the lock a little longer).
 */
export async function recoverInterrupted(
  deps: Pick<WorkerDeps, 'pool' | 'prisma' | 'logger'> & Partial<Pick<WorkerDeps, 'producer' | 'config'>>,
): Promise<void> {
  // Drills take no run lock (they never touch live data): their scratch databases are judged by their own locks.
  await dropAbandonedDrills(deps);
  const client = await deps.pool.connect();
  let locked = false;
  let failed: Error | undefined;
  try {
    locked = await tryLockForSession(client, LIVE_TABLES_LOCK);
    if (!locked) return; // another worker is running one right now
    // An operation marked running a moment ago may be just about to take the lock on another worker.
    const olderThan = new Date(Date.now() - 1000);
    const finished = await finishInterruptedSwaps(
      { ...deps, undoWindowHours: deps.config?.UNDO_WINDOW_HOURS },
      client,
      olderThan,
    );
    const { count } = await deps.prisma.operation.updateMany({
      where: { kind: { in: [...EXCLUSIVE_KINDS] }, status: 'running', startedAt: { lt: olderThan } },
      data: {
        status: 'failed',
        error: 'Interrupted: the worker stopped during the operation; nothing was changed',
        completedAt: new Date(),
      },
    });
    const cleared = await exitMaintenance(deps.prisma);
    // A restore killed mid-way leaves its staging schema behind (never the live tables); restore points are kept.
    const { rows: schemas } = await client.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)`,
      [STAGING_SCHEMA_PREFIX],
    );
    const staging = schemas.filter((s) => !isRestorePoint(s.name));
    for (const { name } of staging) await client.query(`DROP SCHEMA ${JSON.stringify(name)} CASCADE`);
    const sweep = await dropStaleRestorePoints(deps, client);
    for (const id of new Set([...finished.restores, ...sweep.needsExport])) await enqueuePreRestoreExport(deps, id);
    if (
      count > 0 ||
      cleared ||
      staging.length > 0 ||
      finished.restores.length + finished.undos.length + sweep.dropped.length > 0
    ) {
      deps.logger.warn(
        {
          interrupted: count,
          finished,
          maintenanceCleared: cleared,
          stagingDropped: staging.length,
          restorePointsDropped: sweep.dropped.length,
        },
        'recovered from an interrupted restore/reset/undo',
      );
    }
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    if (locked) await releaseLiveTablesLock(client, failed);
    else client.release(failed);
  }
}

/**
 * Queues the background export of restore `restoreOperationId`'s pre-restore file (idempotent: the job id
 * is derived from the restore). A failed enqueue is logged: the hourly restore-point sweep queues it again.
 */
export async function enqueuePreRestoreExport(
  deps: Pick<WorkerDeps, 'logger'> & Partial<Pick<WorkerDeps, 'producer'>>,
  restoreOperationId: string,
): Promise<void> {
  if (!deps.producer) return;
  try {
    await deps.producer.enqueue(
      'backup.restore-points',
      { action: 'export', restoreOperationId },
      { jobId: preRestoreJobId(restoreOperationId) },
    );
  } catch (err) {
    deps.logger.warn(
      { restoreOperationId, err: (err as Error).message },
      'could not queue the pre-restore export; the hourly sweep will',
    );
  }
}

/** What a restore, reset or verify that never reached the queue is told. */
export const NEVER_QUEUED = 'Interrupted: the request was interrupted before it was queued; nothing was changed';

export interface ReconcileReport {
  /** Manual backups whose job was missing, queued again (jobId = record id, so idempotent). */
  requeued: string[];
  /** Records and operations whose job was missing and that cannot be queued again safely. */
  failed: string[];
  /** Waiting jobs whose record or operation does not exist. */
  removed: string[];
}

type ReconcileDeps = Pick<WorkerDeps, 'prisma' | 'producer' | 'logger' | 'config'>;

/**
 * Makes the queue and PostgreSQL agree after a crash between the two writes of a request (the API
 * writes the row, then enqueues): a `queued` row older than `RECONCILE_GRACE_MS` whose job does not
 * exist is queued again when that is safe (a manual backup: same jobId, nothing ran yet) or failed
 * with {@link NEVER_QUEUED} (restore, reset, verify, prune: the admin asks again, knowing nothing
 * changed); a `running` backup whose job is gone is failed; a waiting job whose row is missing is
 * removed. Safe to run on several workers at once: enqueues are idempotent and every update checks
 * the status it expects.
 * Trap: rows younger than the grace period are left alone, because their API may still be enqueueing.
 */
export async function reconcileJobs(deps: ReconcileDeps, now: Date = new Date()): Promise<ReconcileReport> {
  const report: ReconcileReport = { requeued: [], failed: [], removed: [] };
  const before = new Date(now.getTime() - deps.config.RECONCILE_GRACE_MS);
  const jobExists = async (queue: QueueName, jobId: string | null) =>
    !!jobId && !!(await deps.producer.queue(queue).getJob(jobId));

  const records = await deps.prisma.backupRecord.findMany({
    where: { status: { in: ['queued', 'running'] }, updatedAt: { lt: before } },
    select: { id: true, jobId: true, type: true, status: true },
  });
  for (const r of records) {
    if (await jobExists(QUEUES.backup, r.jobId)) continue;
    if (r.status === 'queued' && r.type === 'manual' && r.jobId === r.id) {
      await deps.producer.enqueue('backup.create', { backupId: r.id }, { jobId: r.id });
      report.requeued.push(r.id);
      continue;
    }
    const error =
      r.status === 'queued'
        ? NEVER_QUEUED
        : 'Interrupted: the worker stopped and the job is gone; run the backup again';
    const { count } = await deps.prisma.backupRecord.updateMany({
      where: { id: r.id, status: r.status },
      data: { status: 'failed', error, completedAt: now },
    });
    if (count > 0) report.failed.push(r.id);
  }

  const operations = await deps.prisma.operation.findMany({
    where: { status: 'queued', updatedAt: { lt: before } },
    select: { id: true, jobId: true, kind: true, input: true },
  });
  for (const op of operations) {
    // Each kind's job is on its catalog queue (entity restores and undos wait on the maintenance queue too).
    const queue = JOBS[`backup.${op.kind}` as JobName]?.queue ?? QUEUES.backup;
    if (await jobExists(queue, op.jobId)) continue;
    const { count } = await deps.prisma.operation.updateMany({
      where: { id: op.id, status: 'queued' },
      data: { status: 'failed', error: NEVER_QUEUED, completedAt: now },
    });
    if (count === 0) continue;
    report.failed.push(op.id);
    const upload = uploadPathOf(op.input);
    if (upload && path.dirname(path.resolve(upload)) === path.resolve(deps.config.UPLOAD_DIR))
      await rm(upload, { force: true });
  }

  for (const queue of Object.values(QUEUES)) {
    for (const job of await deps.producer.queue(queue).getJobs(['waiting', 'delayed', 'prioritized'])) {
      if (!job?.id || (await rowExists(deps, job.name, job.data as Record<string, unknown>))) continue;
      await job
        .remove()
        .catch((err: Error) =>
          deps.logger.warn({ jobId: job.id, err: err.message }, 'could not remove an orphaned job'),
        );
      report.removed.push(job.id);
    }
  }
  if (report.requeued.length + report.failed.length + report.removed.length > 0) {
    deps.logger.warn(report, 'reconciled the queue with PostgreSQL');
  }
  return report;
}

/** Whether the row a job works on exists; jobs that create their own row (scheduled, daily prune) always pass. */
async function rowExists(deps: ReconcileDeps, name: string, data: Record<string, unknown>): Promise<boolean> {
  if (name === 'backup.create' && typeof data.backupId === 'string') {
    return (await deps.prisma.backupRecord.count({ where: { id: data.backupId } })) > 0;
  }
  if (typeof data.operationId === 'string')
    return (await deps.prisma.operation.count({ where: { id: data.operationId } })) > 0;
  return true;
}
