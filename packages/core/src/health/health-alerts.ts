import type { PrismaClient } from '@mp/db';
import {
  raiseAlert,
  resolveAlert,
  type AlertCondition,
  type AlertDeps,
  type AlertSending,
} from '../alerts/alert-state.js';
import { checkBackupHealth, type HealthSettings } from './backup-health.js';
import type { HealthCheckName, HealthReport } from './evaluate-health.js';

/** The alert condition of one health check: each failing check is its own condition, raised and resolved on its own. */
export function healthCondition(name: HealthCheckName): AlertCondition {
  return { type: 'health.unhealthy', subject: { kind: 'health', id: name }, code: name };
}

/**
 * The `backup.health-check` job: judges health now, raises an alert for each failing check that is not
 * already raised, and resolves (with a `health.recovered` event) each raised one that passes again.
 * @returns the report and which checks changed state in this run.
 */
export async function runHealthCheck(
  deps: AlertDeps & { prisma: PrismaClient },
  input: { timezone: string; settings: HealthSettings } & AlertSending,
): Promise<{ report: HealthReport; raised: HealthCheckName[]; resolved: HealthCheckName[] }> {
  const report = await checkBackupHealth(deps, input);
  const raised: HealthCheckName[] = [];
  const resolved: HealthCheckName[] = [];
  for (const check of report.checks) {
    const condition = healthCondition(check.name);
    if (!check.ok && (await raiseAlert(deps, condition, input))) raised.push(check.name);
    if (check.ok && (await resolveAlert(deps, condition, input))) resolved.push(check.name);
  }
  return { report, raised, resolved };
}
