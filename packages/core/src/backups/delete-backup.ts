import type { PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import type { StorageSet } from '../deps.js';
import { AppError } from '../errors.js';
import { deleteCopies, withoutCopies } from './copies.js';
import { getBackup } from './get-backup.js';

/**
 * Deletes every stored copy, then the record. A copy already gone counts as deleted. When a copy
 * cannot be deleted the record is kept (with the reason in `error`) so nothing is orphaned.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_IN_PROGRESS, STORAGE_ERROR
 */
export async function deleteBackup(
  deps: { prisma: PrismaClient; storage: StorageSet; logger: Logger },
  input: { id: string },
): Promise<void> {
  const record = await getBackup(deps, input);
  if (record.status === 'queued' || record.status === 'running') {
    throw new AppError('BACKUP_IN_PROGRESS', `Backup ${record.id} is ${record.status}; wait for it to finish`);
  }
  const outcome = await deleteCopies(deps, record);
  if (outcome.error) {
    // Keep the record (nothing is orphaned), minus the copies that did go, with the reason.
    await deps.prisma.backupRecord.update({
      where: { id: record.id },
      data: { error: `Delete failed: ${outcome.error}`, storage: withoutCopies(record.storage, outcome.removed) },
    });
    throw new AppError('STORAGE_ERROR', `A stored copy could not be deleted; the record was kept (${outcome.error})`);
  }
  const { count } = await deps.prisma.backupRecord.deleteMany({ where: { id: record.id } });
  if (count === 0) throw new AppError('BACKUP_NOT_FOUND', `Backup ${record.id} not found`);
}
