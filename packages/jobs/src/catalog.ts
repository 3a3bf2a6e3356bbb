import { z } from 'zod';
import type { JobsOptions } from 'bullmq';

/** Queue names. Backups and their housekeeping share one queue; restore and reset have their own. */
export const QUEUES = { backup: 'backup', maintenance: 'maintenance' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const id = z.string().uuid();

/**
 * The job contract: name → queue, payload schema, default options. Payloads carry ids and small
 * options only (BullMQ stores them in clear text); the worker reloads everything else from PostgreSQL.
 */
export const JOBS = {
  'backup.create': {
    queue: QUEUES.backup,
    payload: z.object({ backupId: id }).strict(),
    options: { attempts: 3, backoff: { type: 'exponential', delay: 5_000 } },
  },
  /** Produced by the job scheduler; the handler creates its own `scheduled` record. */
  'backup.scheduled': {
    queue: QUEUES.backup,
    payload: z.object({}).strict(),
    options: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
  },
  'backup.prune': {
    queue: QUEUES.backup,
    payload: z.object({ operationId: id.optional() }).strict(),
    options: { attempts: 3, backoff: { type: 'exponential', delay: 10_000 } },
  },
  'backup.verify': {
    queue: QUEUES.backup,
    payload: z.object({ operationId: id, backupId: id }).strict(),
    options: { attempts: 2, backoff: { type: 'exponential', delay: 5_000 } },
  },
  'backup.restore': {
    queue: QUEUES.maintenance,
    payload: z.object({ operationId: id }).strict(),
    // A restore is all or nothing and must not run twice behind the admin's back: one attempt.
    options: { attempts: 1 },
  },
  'backup.reset': {
    queue: QUEUES.maintenance,
    payload: z.object({ operationId: id }).strict(),
    options: { attempts: 1 },
  },
  /** A restore of a stored backup into a scratch database (never the live one), measured. */
  'backup.drill': {
    queue: QUEUES.backup,
    payload: z.object({ operationId: id }).strict(),
    options: { attempts: 1 },
  },
  /** Produced by the drill scheduler; the handler creates its own `drill` operation on the newest backup. */
  'backup.scheduled-drill': {
    queue: QUEUES.backup,
    payload: z.object({}).strict(),
    options: { attempts: 2, backoff: { type: 'exponential', delay: 60_000 } },
  },
  /** Swaps a restore point back in: takes back a restore. */
  'backup.undo': {
    queue: QUEUES.maintenance,
    payload: z.object({ operationId: id }).strict(),
    options: { attempts: 1 },
  },
  /** What a restore would change; touches no live data. */
  'backup.preview': {
    queue: QUEUES.backup,
    payload: z.object({ operationId: id }).strict(),
    options: { attempts: 1 },
  },
  /** Re-inserts one deleted entity and what hangs off it. */
  'backup.entity_restore': {
    queue: QUEUES.maintenance,
    payload: z.object({ operationId: id }).strict(),
    options: { attempts: 1 },
  },
  /** Re-encrypts stored backups to the current key, one at a time. */
  'backup.rekey': {
    queue: QUEUES.backup,
    payload: z.object({ operationId: id }).strict(),
    options: { attempts: 1 },
  },
  /** Housekeeping of restore points (drops those whose undo window closed) and of the pre-restore export. */
  'backup.restore-points': {
    queue: QUEUES.backup,
    /**
     * `sweep` (the hourly scheduler, `{}`): drops restore points whose undo window closed or that a later restore
     * superseded. `export`: writes restore `restoreOperationId`'s pre-restore file from its restore point.
     * `drop`: drops that restore's point now (DELETE …/restore-point), tracked by operation `operationId`.
     */
    payload: z
      .object({
        action: z.enum(['sweep', 'export', 'drop']).default('sweep'),
        operationId: id.optional(),
        restoreOperationId: id.optional(),
      })
      .strict(),
    options: { attempts: 3, backoff: { type: 'exponential', delay: 10_000 } },
  },
  /** Evaluates health and raises or clears alerts (a job scheduler runs it every few minutes). */
  'backup.health-check': {
    queue: QUEUES.backup,
    payload: z.object({}).strict(),
    options: { attempts: 1 },
  },
  /** Delivers one alert event to the webhook; retried with backoff, never blocking the job that raised it. */
  'backup.alert': {
    queue: QUEUES.backup,
    payload: z.object({ key: z.string().max(200), event: z.string().max(64), alertId: id }).strict(),
    options: { attempts: 8, backoff: { type: 'exponential', delay: 5_000 } },
  },
} as const satisfies Record<string, { queue: QueueName; payload: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.output<(typeof JOBS)[N]['payload']>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** Names of the jobs that run on `queue`. */
export function jobsOfQueue(queue: QueueName): JobName[] {
  return JOB_NAMES.filter((name) => JOBS[name].queue === queue);
}

/** Finished jobs are kept briefly in Redis; PostgreSQL keeps their state for good. */
export const RETENTION: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

/** Fixed id of the one backup job scheduler; upserting it again never duplicates it. */
export const BACKUP_SCHEDULER_ID = 'backup-schedule';
/** Fixed id of the daily retention prune scheduler. */
export const PRUNE_SCHEDULER_ID = 'backup-prune-daily';
/** Fixed id of the restore drill scheduler. */
export const DRILL_SCHEDULER_ID = 'backup-drill';
/** Fixed id of the hourly restore-point housekeeping scheduler (`backup.restore-points`, action sweep). */
export const RESTORE_POINTS_SCHEDULER_ID = 'backup-restore-points';
/** Fixed id of the health-check scheduler (alerts on health changes). */
export const HEALTH_SCHEDULER_ID = 'backup-health-check';
