import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.undo`.
export async function handleBackupUndo(_job: Job<JobPayload<'backup.undo'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.undo is not available yet');
}
