import type { BackupRecord, PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';

/**
 * Pins a backup: retention never deletes it (`planRetention`'s `pinned` protection). Pinning again
 * replaces the note. A failed backup has no file to keep and is refused.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY (a failed backup)
 */
export async function pinBackup(
  deps: { prisma: Pick<PrismaClient, 'backupRecord'>; now?: () => Date },
  input: { id: string; note: string | null; actor: string | null },
): Promise<BackupRecord> {
  const { count } = await deps.prisma.backupRecord.updateMany({
    where: { id: input.id, status: { not: 'failed' } },
    data: { pinned: true, pinNote: input.note, pinnedAt: deps.now?.() ?? new Date(), pinnedBy: input.actor },
  });
  if (count === 0) await refusal(deps, input.id);
  return deps.prisma.backupRecord.findUniqueOrThrow({ where: { id: input.id } });
}

/**
 * Unpins a backup: retention treats it like any other again. Unpinning an unpinned backup changes nothing.
 * @throws AppError BACKUP_NOT_FOUND
 */
export async function unpinBackup(
  deps: { prisma: Pick<PrismaClient, 'backupRecord'> },
  input: { id: string },
): Promise<BackupRecord> {
  const { count } = await deps.prisma.backupRecord.updateMany({
    where: { id: input.id },
    data: { pinned: false, pinNote: null, pinnedAt: null, pinnedBy: null },
  });
  if (count === 0) throw new AppError('BACKUP_NOT_FOUND', `Backup ${input.id} not found`);
  return deps.prisma.backupRecord.findUniqueOrThrow({ where: { id: input.id } });
}

async function refusal(deps: { prisma: Pick<PrismaClient, 'backupRecord'> }, id: string): Promise<never> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id }, select: { status: true } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${id} not found`);
  throw new AppError('BACKUP_NOT_READY', `Backup ${id} failed and has no file to keep; it cannot be pinned`);
}
