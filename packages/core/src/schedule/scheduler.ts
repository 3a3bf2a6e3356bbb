import type { Queue } from 'bullmq';
import { BACKUP_SCHEDULER_ID, DRILL_SCHEDULER_ID, JOBS, PRUNE_SCHEDULER_ID, RETENTION } from '@mp/jobs';
import type { ScheduleFrequency } from './settings.js';

/** Cron patterns of the schedule's frequencies: every run at 02:00 in the configured time zone. */
export const FREQUENCY_PATTERNS: Record<Exclude<ScheduleFrequency, 'disabled'>, string> = {
  daily: '0 2 * * *',
  weekly: '0 2 * * 0',
  monthly: '0 2 1 * *',
};

/** The retention prune runs daily at 03:00, an hour after the backup, in the same time zone. */
export const PRUNE_PATTERN = '0 3 * * *';

export interface SchedulerOptions {
  /** IANA time zone the pattern is read in (BACKUP_TIMEZONE). Never left to the server's zone. */
  timezone: string;
  /** Replaces the frequency's pattern (tests: `* * * * * *` fires every second). */
  pattern?: string;
}

/** The queue methods a scheduler sync needs; a BullMQ `Queue` on the `backup` queue. */
export type SchedulerQueue = Pick<
  Queue,
  'upsertJobScheduler' | 'removeJobScheduler' | 'getJobScheduler' | 'waitUntilReady'
>;

/** Cron pattern of a frequency, or `null` for `disabled`. */
export function patternOf(frequency: ScheduleFrequency): string | null {
  return frequency === 'disabled' ? null : FREQUENCY_PATTERNS[frequency];
}

/**
 * Makes the backup job scheduler (fixed id {@link BACKUP_SCHEDULER_ID}) match `schedule`: upserts it
 * with the frequency's pattern and an explicit `tz`, producing `backup.scheduled` jobs with `{}` data
 * and the catalog's options; `disabled` removes it (with its pending delayed job).
 *
 * Idempotent: the id is fixed, so calling it again, from any number of replicas, leaves exactly one
 * scheduler. Call it after every schedule change and at worker start-up (a Redis flush loses it).
 * Traps: `queue` must be the `backup` queue with the deployment's prefix; Redis errors are rethrown.
 * @returns when the next backup will be enqueued, or `null` when disabled.
 */
export async function syncBackupScheduler(
  queue: SchedulerQueue,
  schedule: { frequency: ScheduleFrequency },
  opts: SchedulerOptions,
): Promise<Date | null> {
  const pattern = schedule.frequency === 'disabled' ? null : (opts.pattern ?? patternOf(schedule.frequency));
  if (!pattern) {
    await queue.removeJobScheduler(BACKUP_SCHEDULER_ID);
    return null;
  }
  const def = JOBS['backup.scheduled'];
  await queue.upsertJobScheduler(
    BACKUP_SCHEDULER_ID,
    { pattern, tz: opts.timezone },
    { name: 'backup.scheduled', data: {}, opts: { ...def.options, ...RETENTION } },
  );
  return readNextBackupAt(queue);
}

/**
 * Upserts the daily retention prune scheduler (fixed id {@link PRUNE_SCHEDULER_ID}, 03:00 in
 * `timezone`). Its jobs carry no operation id: the prune handler creates its own Operation row.
 * Idempotent like {@link syncBackupScheduler}. It runs whatever the backup frequency: retention applies
 * to manual backups too, and pruning never removes the newest completed backup.
 */
export async function syncPruneScheduler(queue: SchedulerQueue, opts: SchedulerOptions): Promise<Date | null> {
  const def = JOBS['backup.prune'];
  await queue.upsertJobScheduler(
    PRUNE_SCHEDULER_ID,
    { pattern: opts.pattern ?? PRUNE_PATTERN, tz: opts.timezone },
    { name: 'backup.prune', data: {}, opts: { ...def.options, ...RETENTION } },
  );
  const scheduler = await queue.getJobScheduler(PRUNE_SCHEDULER_ID);
  return scheduler?.next ? new Date(scheduler.next) : null;
}

/** When the backup scheduler will next enqueue a job, or `null` when there is no scheduler. */
export async function readNextBackupAt(queue: Pick<SchedulerQueue, 'getJobScheduler'>): Promise<Date | null> {
  const scheduler = await queue.getJobScheduler(BACKUP_SCHEDULER_ID);
  return scheduler?.next ? new Date(scheduler.next) : null;
}

/** Restore drills run at 04:00, after the backup (02:00) and the prune (03:00) of the same night. */
export const DRILL_PATTERNS: Record<Exclude<ScheduleFrequency, 'disabled'>, string> = {
  daily: '0 4 * * *',
  weekly: '0 4 * * 0',
  monthly: '0 4 1 * *',
};

/**
 * Makes the restore drill scheduler (fixed id {@link DRILL_SCHEDULER_ID}) follow `drillFrequency`,
 * producing `backup.scheduled-drill` jobs with `{}` data (the handler picks the newest completed
 * backup); `disabled` removes it. Idempotent like {@link syncBackupScheduler}. `opts.pattern` (a test's
 * every-second backup) does not apply here: a drill is too heavy to fire every second.
 * @returns when the next drill will be enqueued, or `null` when disabled.
 */
export async function syncDrillScheduler(
  queue: SchedulerQueue,
  schedule: { drillFrequency: ScheduleFrequency },
  opts: Pick<SchedulerOptions, 'timezone'>,
): Promise<Date | null> {
  if (schedule.drillFrequency === 'disabled') {
    await queue.removeJobScheduler(DRILL_SCHEDULER_ID);
    return null;
  }
  const def = JOBS['backup.scheduled-drill'];
  await queue.upsertJobScheduler(
    DRILL_SCHEDULER_ID,
    { pattern: DRILL_PATTERNS[schedule.drillFrequency], tz: opts.timezone },
    { name: 'backup.scheduled-drill', data: {}, opts: { ...def.options, ...RETENTION } },
  );
  const scheduler = await queue.getJobScheduler(DRILL_SCHEDULER_ID);
  return scheduler?.next ? new Date(scheduler.next) : null;
}
