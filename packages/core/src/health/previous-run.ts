import { nextRunsOf } from '../schedule/next-runs.js';
import type { ScheduleFrequency } from '../schedule/settings.js';

/** Longer than the widest gap between two runs of each frequency (31 days for monthly, plus DST hours). */
const LOOKBACK_DAYS: Record<Exclude<ScheduleFrequency, 'disabled'>, number> = { daily: 2, weekly: 8, monthly: 33 };
const DAY_MS = 86_400_000;

/**
 * The last instant at or before `at` when the schedule was due, read in the IANA zone `tz`. Walks
 * forwards with {@link nextRunsOf} (the direction BullMQ's scheduler walks) from a little more than
 * one period back, rather than asking cron-parser for `prev()`: on a spring-forward day `prev()` skips
 * the run that `next()` moves to 03:00, so the two would disagree about what was due. `disabled` → `null`.
 * @throws Error for an unknown time zone.
 */
export function previousRunOf(frequency: ScheduleFrequency, tz: string, at: Date): Date | null {
  if (frequency === 'disabled') return null;
  const from = new Date(at.getTime() - LOOKBACK_DAYS[frequency] * DAY_MS);
  const runs = nextRunsOf(frequency, tz, from, 3).filter((run) => run.getTime() <= at.getTime());
  return runs.at(-1) ?? null;
}
