import type { Job } from 'bullmq';
import { analyzeRestoredTables, restoreResultSchema, runRestore } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { enqueuePreRestoreExport } from '../recovery.js';
import { trackOperation } from '../tracking.js';
import { restoreDeps } from './shared.js';

/**
 * `backup.restore`: all-or-nothing restore under maintenance mode. Once it completed (maintenance off),
 * the pre-restore file is written from its restore point by a job of its own, and the restored tables
 * are analyzed here.
 */
export async function handleBackupRestore(job: Job<JobPayload<'backup.restore'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  const result = await trackOperation(
    deps,
    job,
    operationId,
    (onProgress) => runRestore(restoreDeps(deps), operationId, { jobId: job.id!, onProgress }),
    (stored) => restoreResultSchema.safeParse(stored).data,
  );
  if (!result) return undefined;
  // Both steps are idempotent: a retry after a crash here runs them again.
  if (result.safetyBackup === 'pending') await enqueuePreRestoreExport(deps, operationId);
  // The operation is `completed` and maintenance off: the statistics come after, off the user's wait.
  await analyzeRestoredTables(deps, result);
  return result;
}
