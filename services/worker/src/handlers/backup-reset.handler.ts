import type { Job } from 'bullmq';
import { runReset } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { backupRunDeps } from './shared.js';

/**
 * `backup.reset`: safety backup, wipe, fresh SuperAdmin. A generated SuperAdmin password is kept only on
 * the Operation row, until its one claim (POST /api/auth/reset-claim). What the handler returns becomes the
 * BullMQ job's `returnvalue`, stored in clear text in Redis (and in its `completed` event) for as long as the
 * job is kept, so the password is left out of it.
 */
export async function handleBackupReset(job: Job<JobPayload<'backup.reset'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  const outcome = await trackOperation(deps, job, operationId, (onProgress) =>
    runReset({ ...backupRunDeps(deps), superAdminPassword: deps.config.RESET_SUPERADMIN_PASSWORD }, operationId, {
      jobId: job.id!,
      onProgress,
    }),
  );
  if (!outcome) return undefined;
  const { generatedPassword, ...result } = outcome;
  return { ...result, passwordToClaim: generatedPassword !== undefined };
}
