import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.restore-points`.
export async function handleBackupRestorePoints(_job: Job<JobPayload<'backup.restore-points'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.restore-points is not available yet');
}
