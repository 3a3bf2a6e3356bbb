import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.alert`.
export async function handleBackupAlert(_job: Job<JobPayload<'backup.alert'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.alert is not available yet');
}
