import { randomUUID } from 'node:crypto';
import type { Logger } from '@mp/logger';
import type { PgPool, PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import { AppError } from '../errors.js';
import { assertNotInMaintenance } from '../maintenance.js';
import { errorSummary } from '../error-summary.js';
import type { OperationAccepted } from '../operations/enqueue-operation.js';
import { enqueueWithin } from '../operations/enqueue-within.js';
import { assertNoExclusiveOperation } from '../operations/exclusive-operations.js';
import { withOperationLock } from '../operations/operation-lock.js';
import { previewUndo, undoNotAvailable, undoRefusal, type UndoPreview } from './undo-availability.js';

interface RequestDeps {
  prisma: PrismaClient;
  pool: PgPool;
  producer: Producer;
  logger: Logger;
}

/**
 * Accepts an undo of restore `restoreOperationId`: checks (maintenance off, nothing exclusive queued or
 * running, {@link undoRefusal} has no reason) and inserts the `queued` undo Operation under the
 * operation lock, then enqueues `backup.undo`. Answers with what the undo will discard (the preview).
 * @throws AppError NOT_FOUND, UNDO_NOT_AVAILABLE, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, QUEUE_UNAVAILABLE
 */
export async function requestUndo(
  deps: RequestDeps,
  input: { restoreOperationId: string; createdBy: string },
): Promise<OperationAccepted & { discards: UndoPreview }> {
  const operationId = randomUUID();
  // What the undo will discard, read before its own Operation exists (afterwards the preview would call this restore's
  // undo "already queued").
  const discards = await previewUndo(deps, input.restoreOperationId);
  await withOperationLock(deps.prisma, async (tx) => {
    await assertNotInMaintenance(tx);
    await assertNoExclusiveOperation(tx);
    const { reason } = await undoRefusal(tx, input.restoreOperationId);
    if (reason) throw undoNotAvailable(input.restoreOperationId, reason);
    await tx.operation.create({
      data: {
        id: operationId,
        kind: 'undo',
        jobId: operationId,
        input: { restoreOperationId: input.restoreOperationId },
        createdBy: input.createdBy,
      },
    });
  });
  await enqueueOrFail(deps, operationId, () =>
    enqueueWithin(deps.producer, 'backup.undo', { operationId }, operationId),
  );
  return { operationId, jobId: operationId, discards };
}

/**
 * Accepts dropping restore `restoreOperationId`'s point now (its undo then becomes impossible): a
 * `prune` Operation tracks the `backup.restore-points` job (action `drop`) that does it.
 * @throws AppError NOT_FOUND (no such restore, or it keeps no restore point), QUEUE_UNAVAILABLE
 */
export async function requestRestorePointDrop(
  deps: RequestDeps,
  input: { restoreOperationId: string; createdBy: string },
): Promise<OperationAccepted> {
  const op = await deps.prisma.operation.findUnique({ where: { id: input.restoreOperationId } });
  if (op?.kind !== 'restore') throw new AppError('NOT_FOUND', `Restore ${input.restoreOperationId} does not exist`);
  if (!op.restorePoint || op.restorePointDroppedAt) {
    throw new AppError(
      'NOT_FOUND',
      `Restore ${op.id} keeps no restore point` +
        (op.restorePointDroppedAt ? ` (dropped at ${op.restorePointDroppedAt.toISOString()})` : ''),
    );
  }
  const operationId = randomUUID();
  await deps.prisma.operation.create({
    data: {
      id: operationId,
      kind: 'prune',
      jobId: operationId,
      input: { dropRestorePointOf: op.id },
      createdBy: input.createdBy,
    },
  });
  await enqueueOrFail(deps, operationId, () =>
    enqueueWithin(
      deps.producer,
      'backup.restore-points',
      { action: 'drop', operationId, restoreOperationId: op.id },
      operationId,
    ),
  );
  return { operationId, jobId: operationId };
}

async function enqueueOrFail(deps: RequestDeps, operationId: string, enqueue: () => Promise<void>): Promise<void> {
  try {
    await enqueue();
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), operationId }, 'enqueue failed');
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: { status: 'failed', error: 'Job queue unavailable; the request was not started', completedAt: new Date() },
    });
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, {
      cause: err,
    });
  }
}
