import type pg from 'pg';
import { Prisma, type BackupStatus } from '@mp/db';
import { keysetRows } from '../pagination/keyset.js';
import { BACKUP_VIEW_FIELDS, toBackupView, type BackupTypeName, type BackupViewSource } from './backup-views.js';
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

/** The list's filters as SQL conditions on `backup_records`, each served by an index (see schema.prisma). */
export function backupListConditions(input: Omit<ListBackupsInput, 'limit' | 'cursor'>): Prisma.Sql[] {
  const conds: Prisma.Sql[] = [];
  if (input.status) conds.push(Prisma.sql`status = ${input.status}::"BackupStatus"`);
  if (input.type) conds.push(Prisma.sql`type = ${input.type}::"BackupType"`);
  if (input.label !== undefined) {
    const filter = parseLabelFilter(input.label);
    // `?` and `@>`, not jsonb_exists(): only the operators can use the GIN index on labels.
    conds.push(
      filter.value === undefined
        ? Prisma.sql`labels ? ${filter.key}`
        : Prisma.sql`labels @> ${JSON.stringify({ [filter.key]: filter.value })}::jsonb`,
    );
  }
  if (input.pinned !== undefined) conds.push(Prisma.sql`pinned = ${input.pinned}`);
  return conds;
}

/** The columns of a list item: the page is read with its rows, in one query. */
const LIST_COLUMNS = Prisma.raw(BACKUP_VIEW_FIELDS.map((f) => `"${f}"`).join(', '));

/**
 * One page of records, newest first, with an opaque keyset cursor (see `keysetRows`).
 * @throws AppError VALIDATION_ERROR for a cursor this API did not return
 */
export async function listBackups(deps: { pool: Pick<pg.Pool, 'query'> }, input: ListBackupsInput) {
  const page = await keysetRows<BackupViewSource>(deps.pool, {
    table: 'backup_records',
    columns: LIST_COLUMNS,
    conditions: backupListConditions(input),
    limit: input.limit,
    cursor: input.cursor,
  });
  return { items: page.rows.map(toBackupView), nextCursor: page.nextCursor };
}
