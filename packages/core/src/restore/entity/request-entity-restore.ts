import { randomUUID } from 'node:crypto';
import type { Logger } from '@mp/logger';
import type { PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import { AppError } from '../../errors.js';
import { assertNotInMaintenance } from '../../maintenance.js';
import { enqueueWithin, errorSummary, operationInProgress, withOperationLock, type OperationAccepted } from '../../operations/requests.js';
import { assertEntityTarget } from './input.js';

/**
 * Accepts an entity restore from a stored backup: checks the entity type and id, that maintenance is
 * off, that no restore, reset, undo or other entity restore is queued or running, and that the backup
 * is complete; inserts the `queued` Operation (kind `entity_restore`) under the operation lock, then
 * enqueues `backup.entity_restore` with jobId = operation id. Whether the backup holds the entity is
 * known only once the worker reads the file (the job then fails with ENTITY_NOT_IN_BACKUP).
 * @throws AppError UNSUPPORTED_ENTITY_TYPE, VALIDATION_ERROR, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS,
 *   BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestEntityRestore(
  deps: { prisma: PrismaClient; producer: Producer; logger: Logger },
  input: { backupId: string; entityType: string; entityId: string; createdBy: string; actorId: string | null },
): Promise<OperationAccepted> {
  assertEntityTarget(input.entityType, input.entityId);
  const operationId = randomUUID();
  const source = { kind: 'backup' as const, backupId: input.backupId };
  await withOperationLock(deps.prisma, async (tx) => {
    await assertNotInMaintenance(tx);
    const running = await tx.operation.findFirst({
      where: { kind: { in: ['restore', 'reset', 'undo', 'entity_restore'] }, status: { in: ['queued', 'running'] } },
      select: { id: true, kind: true, status: true, jobId: true },
    });
    if (running) throw operationInProgress(running);
    const backup = await tx.backupRecord.findUnique({ where: { id: input.backupId }, select: { status: true } });
    if (!backup) throw new AppError('BACKUP_NOT_FOUND', `Backup ${input.backupId} not found`);
    if (backup.status !== 'completed' && backup.status !== 'partial') {
      throw new AppError('BACKUP_NOT_READY', `Backup ${input.backupId} is ${backup.status}; only a completed backup can be restored from`);
    }
    await tx.operation.create({
      data: {
        id: operationId,
        kind: 'entity_restore',
        jobId: operationId,
        backupId: input.backupId,
        input: { source, entityType: input.entityType, entityId: input.entityId, actorId: input.actorId },
        createdBy: input.createdBy,
      },
    });
  });
  try {
    await enqueueWithin(deps.producer, 'backup.entity_restore', { operationId }, operationId);
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), operationId, job: 'backup.entity_restore' }, 'enqueue failed');
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: { status: 'failed', error: 'Job queue unavailable; the request was not started', completedAt: new Date() },
    });
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, { cause: err });
  }
  return { operationId, jobId: operationId };
}
