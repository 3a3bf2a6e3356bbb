import { Prisma, type BackupStatus, type PrismaClient } from '@mp/db';
import { inPageOrder, keysetPage } from '../pagination/keyset.js';
import { toBackupView, type BackupTypeName } from './backup-views.js';
import { parseLabelFilter } from './labels.js';

export interface ListBackupsInput {
  status?: BackupStatus;
  type?: BackupTypeName;
  /** `key:value` or `key` (see `parseLabelFilter`). */
  label?: string;
  pinned?: boolean;
  limit: number;
  cursor?: string;
}

/**
 * One page of records, newest first, with an opaque keyset cursor (see `keysetPage`).
 * @throws AppError VALIDATION_ERROR for a cursor this API did not return
 */
export async function listBackups(deps: { prisma: PrismaClient }, input: ListBackupsInput) {
  const conds: Prisma.Sql[] = [];
  if (input.status) conds.push(Prisma.sql`status = ${input.status}::"BackupStatus"`);
  if (input.type) conds.push(Prisma.sql`type = ${input.type}::"BackupType"`);
  if (input.label !== undefined) {
    const filter = parseLabelFilter(input.label);
    conds.push(
      filter.value === undefined
        ? Prisma.sql`jsonb_exists(labels, ${filter.key})`
        : Prisma.sql`labels @> ${JSON.stringify({ [filter.key]: filter.value })}::jsonb`,
    );
  }
  if (input.pinned !== undefined) conds.push(Prisma.sql`pinned = ${input.pinned}`);
  const page = await keysetPage(deps.prisma, {
    table: 'backup_records',
    conditions: conds,
    limit: input.limit,
    cursor: input.cursor,
  });
  const records = await deps.prisma.backupRecord.findMany({ where: { id: { in: page.ids } } });
  return { items: inPageOrder(page.ids, records).map(toBackupView), nextCursor: page.nextCursor };
}
