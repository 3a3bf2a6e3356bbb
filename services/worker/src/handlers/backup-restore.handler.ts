import type { Job } from 'bullmq';
import { runRestore } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { backupRunDeps } from './shared.js';

/** `backup.restore`: all-or-nothing restore under maintenance mode. */
export async function handleBackupRestore(job: Job<JobPayload<'backup.restore'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  return trackOperation(deps, job, operationId, (onProgress) =>
    runRestore({ ...backupRunDeps(deps), uploadDir: deps.uploadDir }, operationId, { jobId: job.id!, onProgress }),
  );
}
