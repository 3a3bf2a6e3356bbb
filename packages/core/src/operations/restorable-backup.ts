import type { Prisma } from '@mp/db';
import { AppError } from '../errors.js';

/**
 * Throws unless the backup exists and is usable (completed or partial).
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY
 */
export async function assertRestorableBackup(tx: Prisma.TransactionClient, backupId: string): Promise<void> {
  const backup = await tx.backupRecord.findUnique({ where: { id: backupId }, select: { status: true } });
  if (!backup) throw new AppError('BACKUP_NOT_FOUND', `Backup ${backupId} not found`);
  if (backup.status !== 'completed' && backup.status !== 'partial') {
    throw new AppError(
      'BACKUP_NOT_READY',
      `Backup ${backupId} is ${backup.status}; only a completed backup can be restored or verified`,
    );
  }
}
