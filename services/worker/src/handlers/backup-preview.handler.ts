import type { Job } from 'bullmq';
import { runRestorePreview } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { restoreDeps } from './shared.js';

/** `backup.preview`: what a restore (whole or selective) would change, computed without touching live data. */
export async function handleBackupPreview(job: Job<JobPayload<'backup.preview'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  return trackOperation(deps, job, operationId, (onProgress) =>
    runRestorePreview(restoreDeps(deps), operationId, { onProgress }),
  );
}
