import type { Job } from 'bullmq';
import { runUndo } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { restoreDeps } from './shared.js';

/** `backup.undo`: swaps a restore's point back in under maintenance mode; everyone is logged out. */
export async function handleBackupUndo(job: Job<JobPayload<'backup.undo'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  return trackOperation(deps, job, operationId, (onProgress) =>
    runUndo(restoreDeps(deps), operationId, { jobId: job.id!, onProgress }),
  );
}
