import type { Job } from 'bullmq';
import { pruneBackups } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { backupRunDeps } from './shared.js';

/** `backup.prune`: retention. Runs after each backup and daily; creates its Operation row when none was given. */
export async function handleBackupPrune(job: Job<JobPayload<'backup.prune'>>, deps: WorkerDeps) {
  const operationId = job.data.operationId ?? (await ensureOperation(deps, job.id!));
  // Through backupRunDeps, like every run: the failpoints (crash drills) come from config there.
  return trackOperation(deps, job, operationId, () =>
    pruneBackups(backupRunDeps(deps), { timeZone: deps.config.BACKUP_TIMEZONE }),
  );
}

async function ensureOperation(deps: WorkerDeps, jobId: string): Promise<string> {
  const op = await deps.prisma.operation.upsert({
    where: { jobId },
    create: { kind: 'prune', jobId, createdBy: 'scheduler' },
    update: {},
  });
  return op.id;
}
