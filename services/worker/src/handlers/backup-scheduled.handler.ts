import type { Job } from 'bullmq';
import { createScheduledBackupRecord } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { runTrackedBackup } from './backup-create.handler.js';

/** `backup.scheduled`: one run of the job scheduler becomes a `scheduled` record, then an ordinary backup. */
export async function handleBackupScheduled(
  job: Job<JobPayload<'backup.scheduled'>>,
  deps: WorkerDeps,
  token?: string,
) {
  const record = await createScheduledBackupRecord(deps, { jobId: job.id! });
  return runTrackedBackup(job, deps, record.id, token);
}
