import type { Job } from 'bullmq';
import { UnrecoverableError } from '@mp/jobs';
import { isAppError, toJsonValue, type JobProgress } from '@mp/core';
import { isStorageError } from '@mp/storage';
import type { Prisma } from '@mp/db';
import type { WorkerDeps } from './deps.js';

const DB_PROGRESS_EVERY_MS = 2_000;
/** Domain errors that a later attempt may not meet (storage or queue outages). */
const TRANSIENT_CODES = new Set<string>(['STORAGE_ERROR', 'QUEUE_UNAVAILABLE']);

/** True when BullMQ will not run this job again after the current attempt fails. */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * For the worker's `failed` event (after BullMQ counted the attempt): true when no retry follows, because the
 * error is unrecoverable, the attempts are used up, or the job stalled past its limit.
 */
export function isFinalFailure(job: Job, err: Error): boolean {
  return (
    err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(err.message)
  );
}

/**
 * Errors no retry can fix become `UnrecoverableError` (BullMQ then stops at once); everything else
 * is rethrown unchanged so BullMQ retries with backoff. Nothing is swallowed.
 */
export function classify(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  const transientAppError = isAppError(err) && TRANSIENT_CODES.has(err.code);
  if ((isAppError(err) && !transientAppError) || (isStorageError(err) && !err.retryable)) {
    const permanent = new UnrecoverableError(err.message);
    (permanent as Error & { details?: unknown }).details = isAppError(err) ? err.details : undefined;
    return permanent;
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Reports progress to BullMQ on every call and mirrors it into PostgreSQL at most every two
 * seconds, so pollers see it even after Redis forgets the job.
 */
export function progressReporter(job: Job, save: (p: JobProgress) => Promise<unknown>): (p: JobProgress) => void {
  let lastSaved = 0;
  return (p) => {
    void job.updateProgress(p).catch(() => {});
    const now = Date.now();
    if (now - lastSaved >= DB_PROGRESS_EVERY_MS || p.stage === 'done') {
      lastSaved = now;
      void save(p).catch(() => {});
    }
  };
}

/**
 * Runs an operation (restore, reset, verify, prune) and mirrors its state into its `Operation` row:
 * running → completed with the result, or failed with the reason once no attempt is left
 * (details of a validation failure land in `result.problems`).
 */
export async function trackOperation<T extends object>(
  deps: Pick<WorkerDeps, 'prisma' | 'logger'>,
  job: Job,
  operationId: string,
  run: (onProgress: (p: JobProgress) => void) => Promise<T>,
  readStoredResult?: (stored: unknown) => T | undefined,
): Promise<T | undefined> {
  // Only a queued (or retried) operation runs: one the API already reported failed, or one that
  // finished, is never run again behind the admin's back.
  const { count } = await deps.prisma.operation.updateMany({
    where: { id: operationId, status: { in: ['queued', 'running'] } },
    data: { status: 'running', attempts: job.attemptsMade + 1, startedAt: new Date(), error: null },
  });
  if (count === 0) return alreadyCompletedByThisJob(deps, job, operationId, readStoredResult);
  const onProgress = progressReporter(job, (p) =>
    deps.prisma.operation.update({ where: { id: operationId }, data: { progress: toJsonValue(p) } }),
  );
  try {
    const result = await run(onProgress);
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: {
        status: 'completed',
        result: toJsonValue(result),
        completedAt: new Date(),
        progress: { percent: 100, stage: 'done' },
      },
    });
    return result;
  } catch (err) {
    return settleFailure(deps, job, err, ({ status, error, completedAt, details }) =>
      // A failed operation keeps its structured problems in `result` (the Operation model has no `details`).
      deps.prisma.operation.update({
        where: { id: operationId },
        data: { status, error, completedAt, result: details },
      }),
    );
  }
}

/**
 * A retried job whose operation this same job already completed (its worker died after the `completed`
 * write, during the handler's after-steps, or crash recovery finished it): nothing runs again, and the job
 * completes rather than failing an operation that succeeded (which would also raise a false alert). Returns
 * the stored result when the handler can read it, so its idempotent after-steps run again.
 * @throws UnrecoverableError for an operation that is not waiting to run and was not completed by this job
 */
async function alreadyCompletedByThisJob<T>(
  deps: Pick<WorkerDeps, 'prisma' | 'logger'>,
  job: Job,
  operationId: string,
  readStoredResult: ((stored: unknown) => T | undefined) | undefined,
): Promise<T | undefined> {
  const op = await deps.prisma.operation.findUnique({
    where: { id: operationId },
    select: { status: true, jobId: true, result: true },
  });
  if (op?.status !== 'completed' || op.jobId !== job.id)
    throw new UnrecoverableError(`Operation ${operationId} is not waiting to run (already finished or cancelled)`);
  deps.logger.info({ operationId, jobId: job.id }, 'operation already completed by this job: not run again');
  return readStoredResult?.(op.result);
}

/** Marks a backup record failed (last attempt) or back to queued (a retry follows), then rethrows. */
export function failBackup(
  deps: Pick<WorkerDeps, 'prisma' | 'logger'>,
  job: Job,
  backupId: string,
  err: unknown,
): Promise<never> {
  return settleFailure(deps, job, err, ({ details: _details, ...failure }) =>
    deps.prisma.backupRecord.update({ where: { id: backupId }, data: failure }),
  );
}

/**
 * The one place a failed attempt is judged: final (no attempt left, or not worth retrying) → the
 * row becomes `failed` with the reason; otherwise it goes back to `queued` with a note, and BullMQ
 * retries. Always rethrows, classified, so nothing is swallowed.
 */
async function settleFailure(
  deps: Pick<WorkerDeps, 'logger'>,
  job: Job,
  err: unknown,
  save: (failure: {
    status: 'failed' | 'queued';
    error: string;
    completedAt?: Date;
    details?: Prisma.InputJsonValue;
  }) => Promise<unknown>,
): Promise<never> {
  const classified = classify(err);
  const final = classified instanceof UnrecoverableError || isLastAttempt(job);
  const details = (classified as Error & { details?: unknown }).details;
  try {
    await save(
      final
        ? {
            status: 'failed',
            error: classified.message,
            completedAt: new Date(),
            ...(details && isJsonable(details) ? { details: toJsonValue(details) } : {}),
          }
        : { status: 'queued', error: `Attempt ${job.attemptsMade + 1} failed, will retry: ${classified.message}` },
    );
  } catch (saveErr) {
    // The job's own failure is what the user must read: a failed bookkeeping write is logged, never put in its place
    // (the `failed` listener marks the row from the rethrown error below).
    deps.logger.error(
      {
        jobId: job.id,
        name: job.name,
        err: saveErr instanceof Error ? saveErr.message.split('\n')[0] : String(saveErr),
      },
      'could not record the job failure',
    );
  }
  deps.logger.warn({ jobId: job.id, name: job.name, final, err: classified.message }, 'job attempt failed');
  throw classified;
}

/** Whether an error's details can go in a Json column (what `toJsonValue` takes). */
function isJsonable(value: unknown): value is object | string | number | boolean {
  return value !== null && ['object', 'string', 'number', 'boolean'].includes(typeof value);
}
