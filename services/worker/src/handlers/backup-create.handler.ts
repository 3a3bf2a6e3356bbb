import { DelayedError, type Job } from 'bullmq';
import { getMaintenance, runBackup, toJsonValue } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { failBackup, isLastAttempt, progressReporter } from '../tracking.js';
import { backupRunDeps, enqueuePruneAfter } from './shared.js';

/** `backup.create`: runs the export for a record the API created, then asks for a retention prune. */
export async function handleBackupCreate(job: Job<JobPayload<'backup.create'>>, deps: WorkerDeps, token?: string) {
  const { backupId } = job.data;
  return runTrackedBackup(job, deps, backupId, token);
}

/**
 * Shared by manual and scheduled backups. A backup never runs while a restore or reset holds
 * maintenance mode (it would read tables mid-replacement): the job is put back as delayed,
 * without using an attempt, and looks again later.
 */
export async function runTrackedBackup(job: Job, deps: WorkerDeps, backupId: string, token?: string) {
  const maintenance = await getMaintenance(deps.prisma);
  if (maintenance.active && token) {
    await deps.prisma.backupRecord.update({
      where: { id: backupId },
      data: { error: `Waiting: maintenance (${maintenance.reason ?? 'restore'}) is in progress` },
    });
    await job.moveToDelayed(Date.now() + deps.config.MAINTENANCE_RECHECK_MS, token);
    throw new DelayedError();
  }
  const onProgress = progressReporter(job, (p) =>
    deps.prisma.backupRecord.update({ where: { id: backupId }, data: { progress: toJsonValue(p) } }),
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
