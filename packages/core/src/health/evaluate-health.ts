import type { ScheduleFrequency } from '../schedule/settings.js';
import { previousRunOf } from './previous-run.js';

const HOUR = 3600;
const DAY = 24 * HOUR;
/** A run whose record is this much older than its due instant still counts (clock skew between processes). */
const EARLY_SLACK_SECONDS = 5 * 60;

/** Everything health is judged on; filled from PostgreSQL by `loadHealthFacts`, or by hand in tests. */
export interface HealthFacts {
  schedule: {
    frequency: ScheduleFrequency;
    /** IANA zone the schedule runs in (BACKUP_TIMEZONE). */
    timezone: string;
    /** Last change of the schedule: runs due before it are not expected. */
    changedAt: Date;
    /** How often restore drills are scheduled (sets the drill period in {@link healthLimitsOf}). */
    drillFrequency?: 'disabled' | 'daily' | 'weekly' | 'monthly';
  };
  /** The newest backup with status `completed`, and the one before it (for the size comparison). */
  newestCompleted: { id: string; completedAt: Date; fileSize: number | null } | null;
  previousCompleted: { id: string; fileSize: number | null } | null;
  /** The newest backup of type `scheduled`, whatever its status. */
  lastScheduled: {
    id: string;
    status: 'queued' | 'running' | 'completed' | 'partial' | 'failed';
    createdAt: Date;
  } | null;
  /** The read-back (verification) of the newest backup that has one, whatever its status. */
  latestReadBack: { backupId: string; ok: boolean; checkedAt: Date | null; problems: number } | null;
  /** Bytes of every stored copy (a backup kept locally and in the cloud counts twice). */
  totalStoredBytes: number;
  /** Restore drills; `undefined` where they are not recorded (the drill check then passes, saying so). */
  drills?: {
    last: { id: string; status: 'queued' | 'running' | 'completed' | 'failed'; at: Date } | null;
    lastSucceededAt: Date | null;
  };
}

/** Thresholds, all in seconds or bytes; see {@link DEFAULT_HEALTH_LIMITS}. */
export interface HealthLimits {
  /** Maximum age of the newest completed backup per schedule frequency. */
  maxAgeSeconds: Record<Exclude<ScheduleFrequency, 'disabled'>, number>;
  /** The same with the schedule disabled; `null`: the age is not checked then. */
  maxAgeWithoutScheduleSeconds: number | null;
  /** How long after a due instant the scheduled run may take to appear before it counts as missed. */
  scheduleGraceSeconds: number;
  /** A successful drill must be newer than this; `null`: drills are not scheduled, not checked. */
  drillPeriodSeconds: number | null;
  /** The newest backup is suspicious under this share of the previous one's size. */
  minSizeRatio: number;
  /** Total stored bytes allowed; `null`: no limit. */
  maxTotalBytes: number | null;
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = {
  maxAgeSeconds: { daily: 26 * HOUR, weekly: 8 * DAY, monthly: 32 * DAY },
  maxAgeWithoutScheduleSeconds: null,
  scheduleGraceSeconds: HOUR,
  drillPeriodSeconds: 8 * DAY,
  minSizeRatio: 0.5,
  maxTotalBytes: null,
};

export type HealthCheckName = 'backup_age' | 'scheduled_run' | 'drill' | 'backup_size' | 'storage_total' | 'read_back';

/**
 * One check: `value` and `limit` in the unit the message names (seconds, bytes or a count), `null` when none applies.
 */
export interface HealthCheck {
  name: HealthCheckName;
  ok: boolean;
  message: string;
  value: number | null;
  limit: number | null;
}

export interface HealthReport {
  healthy: boolean;
  checks: HealthCheck[];
}

/**
 * Judges backup health from `facts` at `now`: healthy when every check passes. Pure (no I/O, no clock
 * of its own), so each red and green case is a plain unit test. Checks, in order: the newest
 * completed backup's age against the schedule's maximum; the last scheduled run (failed, partial, or
 * missing since the last due instant plus a grace); the last drill; the newest backup's size against
 * the previous one (or empty); the total stored size; the latest read-back.
 *
 * Messages name backup ids, sizes and times only, never data; still, serve them behind auth and give
 * an unauthenticated monitor `healthy` alone. Trap: an unknown `facts.schedule.timezone` throws (the
 * config validates it at start-up).
 */
export function evaluateHealth(facts: HealthFacts, limits: HealthLimits, now: Date): HealthReport {
  // Rebuilt at the end so every check has one key order, the API's, whichever branch made it.
  const checks = [
    checkAge(facts, limits, now),
    checkScheduledRun(facts, limits, now),
    checkDrill(facts, limits, now),
    checkSize(facts, limits),
    checkStorage(facts, limits),
    checkReadBack(facts),
  ].map(({ name, ok, message, value, limit }) => ({ name, ok, message, value, limit }));
  return { healthy: checks.every((c) => c.ok), checks };
}

function checkAge(facts: HealthFacts, limits: HealthLimits, now: Date): HealthCheck {
  const { frequency } = facts.schedule;
  const limit = frequency === 'disabled' ? limits.maxAgeWithoutScheduleSeconds : limits.maxAgeSeconds[frequency];
  const newest = facts.newestCompleted;
  const age = newest ? secondsBetween(newest.completedAt, now) : null;
  const base = { name: 'backup_age' as const, value: age, limit };
  if (limit === null)
    return { ...base, ok: true, message: 'No backup schedule and no maximum age configured: the age is not checked' };
  if (!newest || age === null) return { ...base, ok: false, message: 'No completed backup exists' };
  const why = frequency === 'disabled' ? 'the configured maximum' : `the maximum for a ${frequency} schedule`;
  return age <= limit
    ? { ...base, ok: true, message: `The newest completed backup is ${duration(age)} old (${why}: ${duration(limit)})` }
    : {
        ...base,
        ok: false,
        message:
          `The newest completed backup (${newest.id}) is ${duration(age)} old, over ${why} of ` + `${duration(limit)}`,
      };
}

function checkScheduledRun(facts: HealthFacts, limits: HealthLimits, now: Date): HealthCheck {
  const { frequency, timezone, changedAt } = facts.schedule;
  const base = { name: 'scheduled_run' as const, value: null, limit: limits.scheduleGraceSeconds };
  if (frequency === 'disabled') return { ...base, ok: true, message: 'No backup schedule' };
  const due = previousRunOf(frequency, timezone, new Date(now.getTime() - limits.scheduleGraceSeconds * 1000));
  const last = facts.lastScheduled;
  const expected = due !== null && due >= changedAt;
  if (expected && (!last || last.createdAt.getTime() < due.getTime() - EARLY_SLACK_SECONDS * 1000)) {
    return {
      ...base,
      ok: false,
      value: secondsBetween(due, now),
      message: `The scheduled backup due at ${due.toISOString()} did not run`,
    };
  }
  if (!last) return { ...base, ok: true, message: 'No scheduled backup was due since the schedule was set' };
  const at = last.createdAt.toISOString();
  if (last.status === 'failed')
    return { ...base, ok: false, message: `The last scheduled backup (${last.id}, ${at}) failed` };
  if (last.status === 'partial') {
    return {
      ...base,
      ok: false,
      message: `The last scheduled backup (${last.id}, ${at}) is partial: one of its copies failed`,
    };
  }
  return { ...base, ok: true, message: `The last scheduled backup (${at}) is ${last.status}` };
}

function checkDrill(facts: HealthFacts, limits: HealthLimits, now: Date): HealthCheck {
  const limit = limits.drillPeriodSeconds;
  const base = { name: 'drill' as const, value: null, limit };
  if (!facts.drills) return { ...base, ok: true, message: 'Restore drills are not recorded: not checked' };
  if (limit === null) return { ...base, ok: true, message: 'Restore drills are not scheduled: not checked' };
  const { last, lastSucceededAt } = facts.drills;
  const age = lastSucceededAt ? secondsBetween(lastSucceededAt, now) : null;
  if (last?.status === 'failed') {
    return {
      ...base,
      value: age,
      ok: false,
      message: `The last restore drill (${last.id}, ${last.at.toISOString()}) failed`,
    };
  }
  if (age === null) return { ...base, ok: false, message: 'No restore drill has succeeded yet' };
  if (age > limit) {
    return {
      ...base,
      value: age,
      ok: false,
      message: `The last successful restore drill is ${duration(age)} old, over ${duration(limit)}`,
    };
  }
  return { ...base, value: age, ok: true, message: `The last successful restore drill is ${duration(age)} old` };
}

function checkSize(facts: HealthFacts, limits: HealthLimits): HealthCheck {
  const newest = facts.newestCompleted;
  const base = { name: 'backup_size' as const };
  if (!newest) return { ...base, ok: true, value: null, limit: null, message: 'No completed backup to judge' };
  const size = newest.fileSize ?? 0;
  if (size <= 0)
    return {
      ...base,
      ok: false,
      value: size,
      limit: null,
      message: `The newest completed backup (${newest.id}) is empty`,
    };
  const previous = facts.previousCompleted?.fileSize ?? 0;
  if (previous <= 0)
    return { ...base, ok: true, value: size, limit: null, message: `The newest completed backup is ${bytes(size)}` };
  const limit = Math.ceil(previous * limits.minSizeRatio);
  const share = `${Math.round(limits.minSizeRatio * 100)} %`;
  return size >= limit
    ? {
        ...base,
        ok: true,
        value: size,
        limit,
        message: `The newest completed backup is ${bytes(size)} (previous ${bytes(previous)})`,
      }
    : {
        ...base,
        ok: false,
        value: size,
        limit,
        message:
          `The newest completed backup (${newest.id}) is ${bytes(size)}, under ${share} of the previous one (` +
          `${bytes(previous)})`,
      };
}

function checkStorage(facts: HealthFacts, limits: HealthLimits): HealthCheck {
  const value = facts.totalStoredBytes;
  const limit = limits.maxTotalBytes;
  const base = { name: 'storage_total' as const, value, limit };
  if (limit === null)
    return { ...base, ok: true, message: `Stored backups take ${bytes(value)} (no limit configured)` };
  return value <= limit
    ? { ...base, ok: true, message: `Stored backups take ${bytes(value)} of ${bytes(limit)}` }
    : { ...base, ok: false, message: `Stored backups take ${bytes(value)}, over the limit of ${bytes(limit)}` };
}

function checkReadBack(facts: HealthFacts): HealthCheck {
  const r = facts.latestReadBack;
  const base = { name: 'read_back' as const, limit: 0 };
  if (!r) return { ...base, ok: true, value: null, message: 'No backup has been read back yet' };
  if (!r.ok)
    return {
      ...base,
      ok: false,
      value: r.problems,
      message: `Reading back backup ${r.backupId} failed (${r.problems} problem(s))`,
    };
  return { ...base, ok: true, value: 0, message: `Backup ${r.backupId} read back without problems` };
}

function secondsBetween(from: Date, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

function duration(seconds: number): string {
  if (seconds < 2 * HOUR) return `${Math.round(seconds / 60)} min`;
  if (seconds < 2 * DAY) return `${Math.round((seconds / HOUR) * 10) / 10} h`;
  return `${Math.round((seconds / DAY) * 10) / 10} days`;
}

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
