import { QUEUES } from '@mp/jobs';
import type { PrismaClient } from '@mp/db';
import { AppError, isAppError } from '../errors.js';
import type { CoreDeps } from '../deps.js';
import { settleWithin } from '../timeout.js';
import { SCHEDULE_ID, assertLocationAvailable, loadSchedule, settingsOf, type ScheduleSettings } from './settings.js';
import {
  readNextBackupAt,
  syncBackupScheduler,
  syncDrillScheduler,
  syncPruneScheduler,
  type SchedulerQueue,
} from './scheduler.js';
import { lockForPrismaTransaction } from '../sql/dialect.js';

/** The schedule as the API answers it. */
export interface ScheduleView extends ScheduleSettings {
  /** Zone the 02:00 runs are read in. */
  timezone: string;
  /** When the newest completed (or partial) backup finished, of any type; `null` before the first. */
  lastBackupAt: string | null;
  /** When the job scheduler enqueues the next backup; `null` when disabled (or the scheduler is missing). */
  nextBackupAt: string | null;
  updatedAt: string;
  updatedBy: string | null;
}

/**
 * Serialises schedule changes across replicas: held for the transaction that writes the row and
 * syncs the scheduler, so PostgreSQL and Redis never end up with two different writers' settings.
 */
const SCHEDULE_LOCK_KEY = 7_236_410_201n;

/** How long a request waits for the queue's Redis connection before answering `QUEUE_UNAVAILABLE`. */
const QUEUE_READY_TIMEOUT_MS = 3_000;

/**
 * The `backup` queue, once its connection is ready. BullMQ waits for a connection that never came up
 * indefinitely (and a late command could then apply a stale schedule), so a request gives up first.
 */
async function readyBackupQueue(producer: CoreDeps['producer']): Promise<SchedulerQueue> {
  // A queue whose connection was up once is "ready" for BullMQ while it reconnects; the connection's own
  // status tells the truth, so a request during an outage is refused at once, not after a failed command's retry.
  if (producer.isDisconnected())
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue (Redis) is unavailable; try again shortly');
  const queue = producer.queue(QUEUES.backup);
  const ready = await settleWithin(
    queue.waitUntilReady().then(
      () => true,
      () => false,
    ),
    QUEUE_READY_TIMEOUT_MS,
    () => false,
  );
  if (!ready) throw new AppError('QUEUE_UNAVAILABLE', 'The job queue (Redis) is unavailable; try again shortly');
  return queue;
}

/** Finish time of the newest completed or partial backup, or `null`. */
export async function readLastBackupAt(prisma: Pick<PrismaClient, 'backupRecord'>): Promise<Date | null> {
  const newest = await prisma.backupRecord.findFirst({
    where: { status: { in: ['completed', 'partial'] } },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    select: { completedAt: true, createdAt: true },
  });
  return newest ? (newest.completedAt ?? newest.createdAt) : null;
}

/**
 * The stored schedule (created with the defaults on first read) with the last and next run.
 * `nextBackupAt` comes from the BullMQ scheduler, so it is `null` when Redis lost it and no worker
 * re-asserted it yet.
 * @throws AppError `QUEUE_UNAVAILABLE` when Redis cannot be reached (an enabled schedule needs it).
 */
export async function getBackupSchedule(
  deps: Pick<CoreDeps, 'prisma' | 'producer'>,
  opts: { timezone: string },
): Promise<ScheduleView> {
  const row = await loadSchedule(deps);
  const [lastBackupAt, nextBackupAt] = await Promise.all([
    readLastBackupAt(deps.prisma),
    row.frequency === 'disabled' ? null : readyBackupQueue(deps.producer).then(readNextBackupAt),
  ]);
  return {
    ...settingsOf(row),
    timezone: opts.timezone,
    lastBackupAt: lastBackupAt?.toISOString() ?? null,
    nextBackupAt: nextBackupAt?.toISOString() ?? null,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
  };
}

/**
 * Applies `changes` over the stored settings (fields left out keep their value) and makes the backup
 * job scheduler match, all or nothing: the row is written and the scheduler synced inside one
 * transaction holding an advisory lock, so a Redis failure leaves the old settings in place and
 * concurrent updates apply one after the other.
 *
 * @throws AppError `CLOUD_STORAGE_NOT_CONFIGURED` when the resulting location is `cloud`/`both` without
 *   cloud storage; `QUEUE_UNAVAILABLE` when Redis cannot be reached (nothing changed).
 * Trap: `changes` must already be validated by `scheduleSettingsSchema` (or its `.partial()`).
 */
export async function updateBackupSchedule(
  deps: Pick<CoreDeps, 'prisma' | 'producer' | 'storage'>,
  changes: Partial<ScheduleSettings>,
  opts: { timezone: string; actor?: string | null; pattern?: string },
): Promise<ScheduleView> {
  if (changes.location) assertLocationAvailable(deps.storage, changes.location);
  const queue = await readyBackupQueue(deps.producer);
  await loadSchedule(deps);
  await deps.prisma.$transaction(
    async (tx) => {
      await lockForPrismaTransaction(tx, SCHEDULE_LOCK_KEY);
      const current = await tx.backupSchedule.findUniqueOrThrow({ where: { id: SCHEDULE_ID } });
      const settings: ScheduleSettings = { ...settingsOf(current), ...definedOnly(changes) };
      assertLocationAvailable(deps.storage, settings.location);
      await tx.backupSchedule.update({
        where: { id: SCHEDULE_ID },
        data: { ...settings, updatedBy: opts.actor ?? null },
      });
      await Promise.all([syncBackupScheduler(queue, settings, opts), syncDrillScheduler(queue, settings, opts)]).catch(
        (err: unknown) => {
          throw isAppError(err)
            ? err
            : new AppError(
                'QUEUE_UNAVAILABLE',
                'The job queue is unavailable; the schedule was not changed',
                undefined,
                {
                  cause: err,
                },
              );
        },
      );
    },
    { timeout: 15_000 },
  );
  return getBackupSchedule(deps, opts);
}

/** `changes` without keys whose value is `undefined` (so they cannot erase a stored value). */
function definedOnly(changes: Partial<ScheduleSettings>): Partial<ScheduleSettings> {
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as Partial<ScheduleSettings>;
}

/**
 * Re-asserts the job schedulers (backup, prune, drill) from the stored settings (creating the row with the defaults
 * when
 * missing). The worker calls it at start-up so a Redis flush or a restart never loses the schedule;
 * idempotent, so every replica may call it. Takes the same lock as {@link updateBackupSchedule} so it
 * cannot re-apply settings an update is replacing.
 */
export async function resyncSchedulers(
  deps: Pick<CoreDeps, 'prisma'>,
  queue: SchedulerQueue,
  opts: { timezone: string },
): Promise<{
  settings: ScheduleSettings;
  nextBackupAt: Date | null;
  nextPruneAt: Date | null;
  nextDrillAt: Date | null;
}> {
  // Wait for Redis outside the transaction: at start-up it may come up later than the worker.
  await queue.waitUntilReady();
  await loadSchedule(deps);
  return deps.prisma.$transaction(
    async (tx) => {
      await lockForPrismaTransaction(tx, SCHEDULE_LOCK_KEY);
      const settings = settingsOf(await loadSchedule({ prisma: tx }));
      const nextBackupAt = await syncBackupScheduler(queue, settings, opts);
      const nextPruneAt = await syncPruneScheduler(queue, opts);
      const nextDrillAt = await syncDrillScheduler(queue, settings, opts);
      return { settings, nextBackupAt, nextPruneAt, nextDrillAt };
    },
    { timeout: 15_000 },
  );
}
