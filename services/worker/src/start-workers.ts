import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import {
  JOBS,
  QUEUES,
  UnrecoverableError,
  createRedisConnection,
  jobsOfQueue,
  type JobName,
  type QueueName,
} from '@mp/jobs';
import { createRepeatLimiter } from '@mp/logger';
import type { WorkerDeps } from './deps.js';
import { assertCompleteHandlerMap, type HandlerMap } from './handlers/index.js';
import { afterCompleted, afterFinalFailure } from './alerts.js';
import { isFinalFailure } from './tracking.js';

export interface StartedWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}

/**
 * Starts one BullMQ Worker per queue. Each job's payload is validated again against the catalog
 * (the queue is a trust boundary too) before its handler runs.
 *
 * The maintenance queue runs one job at a time and never re-runs a job whose worker died
 * (`maxStalledCount: 0`): a restore interrupted half-way is reported failed, not silently redone.
 */
export function startWorkers(deps: WorkerDeps, handlers: HandlerMap): StartedWorkers {
  assertCompleteHandlerMap(handlers);
  const { config, logger } = deps;
  const connection = createRedisConnection(config.REDIS_URL, {
    cluster: config.REDIS_CLUSTER,
    maxRetriesPerRequest: null,
  });
  // Redis clients retry many times a second during an outage: one line per error and 30 s, not one per retry.
  const repeatLimited = createRepeatLimiter();
  connection.on('error', (err) =>
    repeatLimited(`connection ${err.message}`, (extra) =>
      logger.warn({ err: err.message, ...extra }, 'worker redis connection error'),
    ),
  );

  const processor = async (job: Job, token?: string) => {
    if (!isJobName(job.name)) throw new UnrecoverableError(`Unknown job "${job.name}"`);
    const parsed = JOBS[job.name].payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Invalid payload for ${job.name}: ${parsed.error.message}`);
    job.data = parsed.data;
    const handler = handlers[job.name] as (job: Job, deps: WorkerDeps, token?: string) => Promise<unknown>;
    return handler(job, deps, token);
  };

  const make = (queue: QueueName, concurrency: number, maxStalledCount: number) => {
    const worker = new Worker(queue, processor, {
      connection: connection as unknown as ConnectionOptions,
      prefix: config.QUEUE_PREFIX,
      concurrency,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount,
    });
    worker.on('error', (err) =>
      repeatLimited(`${queue} ${err.message}`, (extra) =>
        logger.error({ queue, err: err.message, ...extra }, 'worker error'),
      ),
    );
    worker.on('failed', (job, err) => {
      if (!job) return;
      logger.warn(
        { queue, jobId: job.id, name: job.name, attemptsMade: job.attemptsMade, err: err.message },
        'job failed',
      );
      // Alerts only after the row is final, and only for a failure no retry follows.
      void markStalledFailure(deps, job, err)
        .catch((e: Error) => logger.error({ err: e.message }, 'could not record failure'))
        .then(() => (isFinalFailure(job, err) ? afterFinalFailure(deps, job) : undefined))
        .catch((e: Error) =>
          logger.error(
            { jobId: job.id, name: job.name, err: e.message.split('\n')[0] },
            'could not raise the failure alert',
          ),
        );
    });
    worker.on('completed', (job) => {
      logger.info({ queue, jobId: job.id, name: job.name }, 'job completed');
      void afterCompleted(deps, job).catch((e: Error) =>
        logger.error(
          { jobId: job.id, name: job.name, err: e.message.split('\n')[0] },
          'could not check the job for alerts',
        ),
      );
    });
    return worker;
  };

  const workers = [make(QUEUES.backup, config.WORKER_CONCURRENCY, 1), make(QUEUES.maintenance, 1, 0)];
  logger.info(
    { queues: Object.values(QUEUES), jobs: [...jobsOfQueue('backup'), ...jobsOfQueue('maintenance')] },
    'workers started',
  );
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      connection.disconnect();
    },
  };
}

/**
 * A job that failed without its handler finishing (its worker died and the stall limit was hit)
 * left its record `running`; this moves it to `failed`. Records already final are left alone.
 */
async function markStalledFailure(deps: WorkerDeps, job: Job, err: Error): Promise<void> {
  if (!isFinalFailure(job, err)) return;
  const error = `Interrupted: ${err.message}`;
  const open = { in: ['queued' as const, 'running' as const] };
  const data = job.data as { backupId?: string; operationId?: string };
  await deps.prisma.backupRecord.updateMany({
    where: { OR: [{ id: data.backupId ?? '' }, { jobId: job.id ?? '' }], status: open },
    data: { status: 'failed', error, completedAt: new Date() },
  });
  await deps.prisma.operation.updateMany({
    where: { OR: [{ id: data.operationId ?? '' }, { jobId: job.id ?? '' }], status: open },
    data: { status: 'failed', error, completedAt: new Date() },
  });
}
