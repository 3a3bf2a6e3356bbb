import type { Job } from 'bullmq';
import { ensureScheduledDrill, runDrill, type DrillDeps } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';
import { restoreDeps } from './shared.js';

function drillDeps(deps: WorkerDeps): DrillDeps {
  return {
    ...restoreDeps(deps),
    databaseUrl: deps.config.DATABASE_URL,
    migrationsDir: deps.config.DRILL_MIGRATIONS_DIR,
  };
}

/** `backup.drill`: restores a stored backup into a scratch database, compares it with the file, drops it. */
export async function handleBackupDrill(job: Job<JobPayload<'backup.drill'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  return trackOperation(deps, job, operationId, (onProgress) => runDrill(drillDeps(deps), operationId, { onProgress }));
}

/**
 * `backup.scheduled-drill`: one run of the drill scheduler becomes a `drill` operation on the newest
 * completed backup (the same one on a retry), then an ordinary drill. No backup yet: completed with a note.
 */
export async function handleBackupScheduledDrill(job: Job<JobPayload<'backup.scheduled-drill'>>, deps: WorkerDeps) {
  const op = await ensureScheduledDrill(deps, { jobId: job.id! });
  if (!op) {
    deps.logger.info({ jobId: job.id }, 'scheduled drill: no completed backup to drill yet');
    return { note: 'No completed backup to drill yet; nothing was done' };
  }
  return trackOperation(deps, job, op.id, (onProgress) => runDrill(drillDeps(deps), op.id, { onProgress }));
}
