import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Logger } from '@mp/logger';
import type { PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import { AppError } from '../../errors.js';
import { assertNotInMaintenance } from '../../maintenance.js';
import { errorSummary } from '../../error-summary.js';
import type { OperationAccepted } from '../../operations/enqueue-operation.js';
import { enqueueWithin } from '../../operations/enqueue-within.js';
import { operationInProgress } from '../../operations/exclusive-operations.js';
import { withOperationLock } from '../../operations/operation-lock.js';
import type { RestoreSource } from '../source.js';
import { assertEntityTarget } from './input.js';

/**
 * Accepts an entity restore from a stored backup or an upload: checks the entity type and id, that maintenance is
 * off, that no restore, reset, undo or other entity restore is queued or running, and that the backup
 * (a stored one) is complete; inserts the `queued` Operation (kind `entity_restore`) under the operation lock, then
 * enqueues `backup.entity_restore` with jobId = operation id. Whether the backup holds the entity is
 * known only once the worker reads the file (the job then fails with ENTITY_NOT_IN_BACKUP).
 * Trap: an uploaded file is deleted whenever the request fails before the job is enqueued; afterwards it belongs to the
 * worker.
 * @throws AppError UNSUPPORTED_ENTITY_TYPE, VALIDATION_ERROR, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS,
 *   BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestEntityRestore(
  deps: { prisma: PrismaClient; producer: Producer; logger: Logger },
  input: {
    source: RestoreSource;
    entityType: string;
    entityId: string;
    createdBy: string;
    actorId: string | null;
    operationId?: string;
  },
): Promise<OperationAccepted> {
  const { source } = input;
  const operationId = input.operationId ?? randomUUID();
  const dropUpload = () => (source.kind === 'file' ? rm(source.path, { force: true }) : Promise.resolve());
  await accept(deps, input, operationId).catch(async (err: unknown) => {
    await dropUpload();
    throw err;
  });
  try {
    await enqueueWithin(deps.producer, 'backup.entity_restore', { operationId }, operationId);
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), operationId, job: 'backup.entity_restore' }, 'enqueue failed');
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: { status: 'failed', error: 'Job queue unavailable; the request was not started', completedAt: new Date() },
    });
    await dropUpload();
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, {
      cause: err,
    });
  }
  return { operationId, jobId: operationId };
}

/** The checks and the `queued` operation row, under the operation lock. */
async function accept(
  deps: { prisma: PrismaClient },
  input: {
    source: RestoreSource;
    entityType: string;
    entityId: string;
    createdBy: string;
    actorId: string | null;
  },
  operationId: string,
): Promise<void> {
  const { source } = input;
  assertEntityTarget(input.entityType, input.entityId);
  await withOperationLock(deps.prisma, async (tx) => {
    await assertNotInMaintenance(tx);
    const running = await tx.operation.findFirst({
      where: { kind: { in: ['restore', 'reset', 'undo', 'entity_restore'] }, status: { in: ['queued', 'running'] } },
      select: { id: true, kind: true, status: true, jobId: true },
    });
    if (running) throw operationInProgress(running);
    if (source.kind === 'backup') {
      const backup = await tx.backupRecord.findUnique({ where: { id: source.backupId }, select: { status: true } });
      if (!backup) throw new AppError('BACKUP_NOT_FOUND', `Backup ${source.backupId} not found`);
      if (backup.status !== 'completed' && backup.status !== 'partial') {
        throw new AppError(
          'BACKUP_NOT_READY',
          `Backup ${source.backupId} is ${backup.status}; only a completed backup can be restored from`,
        );
      }
    }
    await tx.operation.create({
      data: {
        id: operationId,
        kind: 'entity_restore',
        jobId: operationId,
        backupId: source.kind === 'backup' ? source.backupId : null,
        input: { source, entityType: input.entityType, entityId: input.entityId, actorId: input.actorId },
        createdBy: input.createdBy,
      },
    });
  });
}
