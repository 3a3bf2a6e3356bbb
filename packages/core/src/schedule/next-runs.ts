import { CronExpressionParser } from 'cron-parser';
import { patternOf } from './scheduler.js';
import type { ScheduleFrequency } from './settings.js';

/**
 * The next `count` run times of `frequency` after `from`, read in the IANA zone `tz`, computed with
 * the same parser BullMQ's job scheduler uses (so it predicts what the scheduler does).
 *
 * Across daylight-saving changes the runs stay at 02:00 local time; on a spring-forward day where
 * 02:00 does not exist the run happens at the first valid local time (03:00). `disabled` → `[]`.
 * @throws Error for an unknown time zone.
 */
export function nextRunsOf(frequency: ScheduleFrequency, tz: string, from: Date, count: number): Date[] {
  const pattern = patternOf(frequency);
  if (!pattern || count <= 0) return [];
  const interval = CronExpressionParser.parse(pattern, { currentDate: from, tz });
  const runs: Date[] = [];
  for (let i = 0; i < count; i++) runs.push(interval.next().toDate());
  return runs;
}
