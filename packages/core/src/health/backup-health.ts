import type { PrismaClient } from '@mp/db';
import {
  DEFAULT_HEALTH_LIMITS,
  evaluateHealth,
  type HealthFacts,
  type HealthLimits,
  type HealthReport,
} from './evaluate-health.js';
import { loadHealthFacts } from './load-health-facts.js';

const HOUR = 3600;

/** The operator's health thresholds (config `BACKUP_HEALTH_*`), in the units the variables use. */
export interface HealthSettings {
  maxAgeHours: { daily: number; weekly: number; monthly: number };
  scheduleGraceMinutes: number;
  /** Total megabytes (10^6 bytes) every stored copy may take; `null`: no limit. */
  maxTotalMb: number | null;
}

/** The settings of a parsed service config (API or worker: both carry the `BACKUP_HEALTH_*` keys). */
export function healthSettingsOf(config: {
  BACKUP_HEALTH_MAX_AGE_DAILY_HOURS: number;
  BACKUP_HEALTH_MAX_AGE_WEEKLY_HOURS: number;
  BACKUP_HEALTH_MAX_AGE_MONTHLY_HOURS: number;
  BACKUP_HEALTH_SCHEDULE_GRACE_MINUTES: number;
  BACKUP_HEALTH_MAX_TOTAL_MB?: number | undefined;
}): HealthSettings {
  return {
    maxAgeHours: {
      daily: config.BACKUP_HEALTH_MAX_AGE_DAILY_HOURS,
      weekly: config.BACKUP_HEALTH_MAX_AGE_WEEKLY_HOURS,
      monthly: config.BACKUP_HEALTH_MAX_AGE_MONTHLY_HOURS,
    },
    scheduleGraceMinutes: config.BACKUP_HEALTH_SCHEDULE_GRACE_MINUTES,
    maxTotalMb: config.BACKUP_HEALTH_MAX_TOTAL_MB ?? null,
  };
}

/**
 * The limits {@link evaluateHealth} applies: the settings in seconds and bytes, and the drill period
 * from the drill frequency (a drill must have succeeded within the same window a backup of that
 * frequency must: 26 h daily, 8 days weekly, 32 days monthly by default; `disabled`: not checked).
 */
export function healthLimitsOf(
  settings: HealthSettings,
  drillFrequency: HealthFacts['schedule']['drillFrequency'],
): HealthLimits {
  const maxAgeSeconds = {
    daily: settings.maxAgeHours.daily * HOUR,
    weekly: settings.maxAgeHours.weekly * HOUR,
    monthly: settings.maxAgeHours.monthly * HOUR,
  };
  const frequency = drillFrequency ?? 'weekly';
  return {
    ...DEFAULT_HEALTH_LIMITS,
    maxAgeSeconds,
    scheduleGraceSeconds: settings.scheduleGraceMinutes * 60,
    drillPeriodSeconds: frequency === 'disabled' ? null : maxAgeSeconds[frequency],
    maxTotalBytes: settings.maxTotalMb === null ? null : settings.maxTotalMb * 1_000_000,
  };
}

/**
 * Backup health now: the facts from PostgreSQL judged against the operator's limits. What
 * `GET /api/backup/health`, `/healthz/backups`, `/metrics` and the health-check job all answer from.
 */
export async function checkBackupHealth(
  deps: { prisma: PrismaClient; now?: () => Date },
  input: { timezone: string; settings: HealthSettings },
): Promise<HealthReport> {
  const facts = await loadHealthFacts(deps, { timezone: input.timezone });
  return evaluateHealth(
    facts,
    healthLimitsOf(input.settings, facts.schedule.drillFrequency),
    deps.now?.() ?? new Date(),
  );
}
