import { HEALTH_SCHEDULER_ID, JOBS, RETENTION } from '@mp/jobs';
import type { SchedulerQueue } from '../schedule/scheduler.js';

/**
 * Upserts the health-check job scheduler (HEALTH_SCHEDULER_ID) on the `backup` queue: one
 * `backup.health-check` every `everyMinutes`. Idempotent: every worker start re-asserts it, and a
 * changed interval replaces the old one.
 * @returns when it next runs, or `null` when BullMQ does not say.
 */
export async function syncHealthScheduler(queue: SchedulerQueue, opts: { everyMinutes: number }): Promise<Date | null> {
  const def = JOBS['backup.health-check'];
  await queue.upsertJobScheduler(
    HEALTH_SCHEDULER_ID,
    { every: opts.everyMinutes * 60_000 },
    { name: 'backup.health-check', data: {}, opts: { ...def.options, ...RETENTION } },
  );
  const scheduler = await queue.getJobScheduler(HEALTH_SCHEDULER_ID);
  return scheduler?.next ? new Date(scheduler.next) : null;
}
