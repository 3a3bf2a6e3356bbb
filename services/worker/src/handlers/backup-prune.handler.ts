import type { Job } from 'bullmq';
import { pruneBackups } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';

/** `backup.prune`: retention. Runs after each backup and daily; creates its Operation row when none was given. */
export async function handleBackupPrune(job: Job<JobPayload<'backup.prune'>>, deps: WorkerDeps) {
  const operationId = job.data.operationId ?? (await ensureOperation(deps, job.id!));
  return trackOperation(deps, job, operationId, () => pruneBackups(deps, { timeZone: deps.config.BACKUP_TIMEZONE }));
}

async function ensureOperation(deps: WorkerDeps, jobId: string): Promise<string> {
  const op = await deps.prisma.operation.upsert({
    where: { jobId },
    create: { kind: 'prune', jobId, createdBy: 'scheduler' },
    update: {},
  });
  return op.id;
}
