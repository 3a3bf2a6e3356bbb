import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.preview`.
export async function handleBackupPreview(_job: Job<JobPayload<'backup.preview'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.preview is not available yet');
}
