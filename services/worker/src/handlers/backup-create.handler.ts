import type { Job } from 'bullmq';
import { runBackup } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { failBackup, isLastAttempt, progressReporter } from '../tracking.js';
import { backupRunDeps, enqueuePruneAfter } from './shared.js';

/** `backup.create`: runs the export for a record the API created, then asks for a retention prune. */
export async function handleBackupCreate(job: Job<JobPayload<'backup.create'>>, deps: WorkerDeps) {
  const { backupId } = job.data;
  return runTrackedBackup(job, deps, backupId);
}

/** Shared by manual and scheduled backups. */
export async function runTrackedBackup(job: Job, deps: WorkerDeps, backupId: string) {
  const onProgress = progressReporter(job, (p) =>
    deps.prisma.backupRecord.update({ where: { id: backupId }, data: { progress: p as unknown as object } }),
  );
  try {
    const result = await runBackup(backupRunDeps(deps), backupId, {
      attempt: job.attemptsMade + 1,
      isLastAttempt: isLastAttempt(job),
      onProgress,
    });
    await enqueuePruneAfter(deps, backupId);
    return result;
  } catch (err) {
    return failBackup(deps, job, backupId, err);
  }
}
