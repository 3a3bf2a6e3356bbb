import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.health-check`.
export async function handleBackupHealthCheck(_job: Job<JobPayload<'backup.health-check'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.health-check is not available yet');
}
