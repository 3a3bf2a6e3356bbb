import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { assertNotInMaintenance } from '../maintenance.js';
import { enqueueOperation, type OperationAccepted, type OperationDeps } from './enqueue-operation.js';
import { assertNoExclusiveOperation } from './exclusive-operations.js';
import { withOperationLock } from './operation-lock.js';
import type { RestoreSource } from '../restore/source.js';
import { assertRestorableBackup } from './restorable-backup.js';

export type { RestoreSource } from '../restore/source.js';

/** A selective restore or preview: table keys (checked by the API against the format's tables). */
export interface TablesInput {
  tables?: string[];
  withDependencies?: boolean;
}

/** The table selection as stored in an operation's input (nothing when the whole backup is meant). */
export const tablesOf = (input: TablesInput) =>
  input.tables ? { tables: input.tables, withDependencies: input.withDependencies === true } : {};

/**
 * Accepts a restore: checks (maintenance off, no restore/reset queued or running, the backup exists and is
 * usable) and inserts the `queued` Operation under one advisory lock, then enqueues `backup.restore`
 * with jobId = operation id. The worker does the rest (`allowNoAdmin` travels in the operation's input).
 * Traps: `operationId` may be chosen by the caller (the upload is already named after it). A `file`
 * source is deleted whenever the request fails before the job is enqueued; afterwards it belongs to the worker.
 * @throws AppError MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestRestore(
  deps: OperationDeps,
  input: {
    source: RestoreSource;
    skipSafetyBackup: boolean;
    allowNoAdmin?: boolean;
    createdBy: string;
    operationId?: string;
  } & TablesInput,
): Promise<OperationAccepted> {
  const operationId = input.operationId ?? randomUUID();
  const { source } = input;
  try {
    await withOperationLock(deps.prisma, async (tx) => {
      await assertNotInMaintenance(tx);
      await assertNoExclusiveOperation(tx);
      if (source.kind === 'backup') await assertRestorableBackup(tx, source.backupId);
      await tx.operation.create({
        data: {
          id: operationId,
          kind: 'restore',
          jobId: operationId,
          backupId: source.kind === 'backup' ? source.backupId : null,
          input: {
            source,
            skipSafetyBackup: input.skipSafetyBackup,
            allowNoAdmin: input.allowNoAdmin === true,
            ...tablesOf(input),
          },
          createdBy: input.createdBy,
        },
      });
    });
  } catch (err) {
    if (source.kind === 'file') await rm(source.path, { force: true });
    throw err;
  }
  await enqueueOperation(deps, 'backup.restore', operationId, source.kind === 'file' ? source.path : null);
  return { operationId, jobId: operationId };
}
