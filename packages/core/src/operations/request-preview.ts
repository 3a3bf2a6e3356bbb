import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { assertEntityTarget } from '../restore/entity/input.js';
import { enqueueOperation, type OperationAccepted, type OperationDeps } from './enqueue-operation.js';
import { assertRestorableBackup } from './restorable-backup.js';
import type { RestoreSource } from '../restore/source.js';
import { tablesOf, type TablesInput } from './request-restore.js';

/**
 * Accepts a preview of a restore (same sources and table selection as `requestRestore`): a
 * read-only `backup.preview` job on the backup queue. No maintenance mode and no exclusivity: it
 * stages into its own schema and only reads the live tables.
 * Trap: a `file` source is deleted whenever the request fails before the job is enqueued.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestPreview(
  deps: OperationDeps,
  input: {
    source: RestoreSource;
    createdBy: string;
    operationId?: string;
    entity?: { entityType: string; entityId: string };
  } & TablesInput,
): Promise<OperationAccepted> {
  const operationId = input.operationId ?? randomUUID();
  const { source, entity } = input;
  try {
    if (entity) assertEntityTarget(entity.entityType, entity.entityId);
    await deps.prisma.$transaction(async (tx) => {
      if (source.kind === 'backup') await assertRestorableBackup(tx, source.backupId);
      await tx.operation.create({
        data: {
          id: operationId,
          kind: 'preview',
          jobId: operationId,
          backupId: source.kind === 'backup' ? source.backupId : null,
          input: { source, ...tablesOf(input), ...(entity ? { entity } : {}) },
          createdBy: input.createdBy,
        },
      });
    });
  } catch (err) {
    if (source.kind === 'file') await rm(source.path, { force: true });
    throw err;
  }
  await enqueueOperation(deps, 'backup.preview', operationId, source.kind === 'file' ? source.path : null);
  return { operationId, jobId: operationId };
}
