import type { Job } from 'bullmq';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

// PLACEHOLDER-UNTIL-IMPLEMENTED: replaced by the helper that owns `backup.entity_restore`.
export async function handleBackupEntityRestore(_job: Job<JobPayload<'backup.entity_restore'>>, _deps: WorkerDeps): Promise<never> {
  throw new UnrecoverableError('backup.entity_restore is not available yet');
}
