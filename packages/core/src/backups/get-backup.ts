import type { BackupRecord, PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';

/** @throws AppError BACKUP_NOT_FOUND */
export async function getBackup(deps: { prisma: PrismaClient }, input: { id: string }): Promise<BackupRecord> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: input.id } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${input.id} not found`);
  return record;
}
