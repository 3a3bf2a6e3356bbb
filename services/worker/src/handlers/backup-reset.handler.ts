import type { Job } from 'bullmq';
import { runReset } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { backupRunDeps } from './shared.js';

/** `backup.reset`: safety backup, wipe, fresh SuperAdmin. */
export async function handleBackupReset(job: Job<JobPayload<'backup.reset'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  return trackOperation(deps, job, operationId, (onProgress) =>
    runReset({ ...backupRunDeps(deps), superAdminPassword: deps.config.RESET_SUPERADMIN_PASSWORD }, operationId, {
      jobId: job.id!,
      onProgress,
    }),
  );
}
