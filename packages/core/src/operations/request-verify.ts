import { randomUUID } from 'node:crypto';
import { enqueueOperation, type OperationAccepted, type OperationDeps } from './enqueue-operation.js';
import { assertRestorableBackup } from './restorable-backup.js';

/**
 * Accepts a verification of every stored copy of a backup (see `verifyBackup`). Read-only, so it may run
 * beside other jobs; the report lands on the backup record and in the job result.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestVerify(
  deps: OperationDeps,
  input: { backupId: string; createdBy: string },
): Promise<OperationAccepted> {
  const operationId = randomUUID();
  await deps.prisma.$transaction(async (tx) => {
    await assertRestorableBackup(tx, input.backupId);
    await tx.operation.create({
      data: {
        id: operationId,
        kind: 'verify',
        jobId: operationId,
        backupId: input.backupId,
        input: {},
        createdBy: input.createdBy,
      },
    });
  });
  await enqueueOperation(deps, 'backup.verify', operationId, null, { operationId, backupId: input.backupId });
  return { operationId, jobId: operationId };
}
