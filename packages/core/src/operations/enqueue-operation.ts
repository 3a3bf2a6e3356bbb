import { rm } from 'node:fs/promises';
import type { Logger } from '@mp/logger';
import type { PrismaClient } from '@mp/db';
import type { JobPayload, Producer } from '@mp/jobs';
import { AppError } from '../errors.js';
import { errorSummary } from '../error-summary.js';
import { enqueueWithin } from './enqueue-within.js';

/** What the operation requests (restore, preview, reset, verify) need. */
export interface OperationDeps {
  prisma: PrismaClient;
  producer: Producer;
  logger: Logger;
}

/** A request accepted: its Operation row, and the job (same id) that will run it. */
export interface OperationAccepted {
  operationId: string;
  jobId: string;
}

/**
 * Enqueues the job of a `queued` Operation (job id = operation id). When the queue does not take it, the
 * row is marked failed and an uploaded file (if any) deleted, so nothing waits for a job that never comes.
 * @throws AppError QUEUE_UNAVAILABLE
 */
export async function enqueueOperation<
  N extends 'backup.restore' | 'backup.reset' | 'backup.verify' | 'backup.preview',
>(
  deps: OperationDeps,
  name: N,
  operationId: string,
  uploadPath: string | null,
  payload: JobPayload<N> = { operationId } as JobPayload<N>,
): Promise<void> {
  try {
    await enqueueWithin(deps.producer, name, payload, operationId);
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), operationId, job: name }, 'enqueue failed');
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: { status: 'failed', error: 'Job queue unavailable; the request was not started', completedAt: new Date() },
    });
    if (uploadPath) await rm(uploadPath, { force: true });
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, {
      cause: err,
    });
  }
}
