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
