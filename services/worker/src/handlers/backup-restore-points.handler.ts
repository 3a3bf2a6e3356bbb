import type { Job } from 'bullmq';
import { dropRestorePointOf, exportRestorePoint, sweepRestorePoints } from '@mp/core';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { enqueuePreRestoreExport } from '../recovery.js';
import { classify, isLastAttempt, progressReporter, trackOperation } from '../tracking.js';
import { backupRunDeps, enqueuePruneAfter } from './shared.js';

/**
 * `backup.restore-points`: restore-point housekeeping.
 * - `sweep` (hourly scheduler): drops points whose undo window closed or that a later restore superseded,
 *   and queues pre-restore exports that went missing.
 * - `export`: writes a restore's pre-restore file from its point (a backup record of its own; pruned after).
 * - `drop`: DELETE …/restore-point, tracked by its operation.
 */
export async function handleBackupRestorePoints(job: Job<JobPayload<'backup.restore-points'>>, deps: WorkerDeps) {
  const { action, operationId, restoreOperationId } = job.data;
  if (action === 'sweep') {
    const report = await sweepRestorePoints(deps);
    for (const id of report?.needsExport ?? []) await enqueuePreRestoreExport(deps, id);
    return report ?? { skipped: 'a restore, reset or undo is running; the next sweep catches up' };
  }
  if (!restoreOperationId) throw new UnrecoverableError(`backup.restore-points ${action} needs restoreOperationId`);
  if (action === 'drop') {
    if (!operationId) throw new UnrecoverableError('backup.restore-points drop needs its operationId');
    return trackOperation(deps, job, operationId, () => dropRestorePointOf(deps, restoreOperationId));
  }
  const onProgress = progressReporter(job, async () => {});
  try {
    const result = await exportRestorePoint(backupRunDeps(deps), restoreOperationId, {
      attempt: job.attemptsMade + 1,
      isLastAttempt: isLastAttempt(job),
      onProgress,
    });
    if ('backupId' in result) await enqueuePruneAfter(deps, result.backupId);
    return result;
  } catch (err) {
    throw classify(err);
  }
}
