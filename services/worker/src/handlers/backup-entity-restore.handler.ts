import type { Job } from 'bullmq';
import { runEntityRestore } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { restoreDeps } from './shared.js';

/**
 * `backup.entity_restore`: re-inserts one entity and what hangs off it, where missing live; maintenance only for the
 * write.
 */
export async function handleBackupEntityRestore(job: Job<JobPayload<'backup.entity_restore'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  return trackOperation(deps, job, operationId, (onProgress) =>
    runEntityRestore(restoreDeps(deps), operationId, { jobId: job.id!, onProgress }),
  );
}
