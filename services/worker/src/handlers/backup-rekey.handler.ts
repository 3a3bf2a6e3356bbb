import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.rekey`.
export async function handleBackupRekey(_job: Job<JobPayload<'backup.rekey'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.rekey is not available yet');
}
