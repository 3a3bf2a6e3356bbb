import type { Job } from 'bullmq';
import { verifyBackup } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';

/**
 * `backup.verify`: every stored copy checked, rows and references staged, invariants as warnings (`verifyBackup`); the
 * report lands on the record.
 */
export async function handleBackupVerify(job: Job<JobPayload<'backup.verify'>>, deps: WorkerDeps) {
  const { operationId, backupId } = job.data;
  return trackOperation(deps, job, operationId, () => verifyBackup(deps, backupId));
}
