import type { Job } from 'bullmq';
import { healthSettingsOf, runHealthCheck } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { alertSending } from '../alerts.js';

/**
 * `backup.health-check`: judges backup health (on the HEALTH_SCHEDULER_ID scheduler, and after each backup or
 * drill ends), raises an alert for each newly failing check and a `health.recovered` event for each that passes
 * again. Its result names the checks that changed, and whether all pass.
 */
export async function handleBackupHealthCheck(_job: Job<JobPayload<'backup.health-check'>>, deps: WorkerDeps) {
  const { report, raised, resolved } = await runHealthCheck(deps, {
    timezone: deps.config.BACKUP_TIMEZONE,
    settings: healthSettingsOf(deps.config),
    ...alertSending(deps),
  });
  return { healthy: report.healthy, failing: report.checks.filter((c) => !c.ok).map((c) => c.name), raised, resolved };
}
