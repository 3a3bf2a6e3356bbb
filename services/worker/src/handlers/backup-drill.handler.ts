import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.drill`.
export async function handleBackupDrill(_job: Job<JobPayload<'backup.drill'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.drill is not available yet');
}

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.scheduled-drill`.
export async function handleBackupScheduledDrill(_job: Job<JobPayload<'backup.scheduled-drill'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.scheduled-drill is not available yet');
}
