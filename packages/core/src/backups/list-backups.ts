import { Prisma, type BackupStatus, type PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';
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

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(cursor: string): { ts: string; id: string } {
  const [ts, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!ts || !id || !CURSOR_TIME.test(ts) || id.length > 64) {
    throw new AppError('VALIDATION_ERROR', 'Invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned' }]);
  }
  return { ts, id };
}

/**
 * One page of records, newest first (createdAt desc, id desc), with an opaque keyset cursor.
 * The page boundary is computed in SQL at microsecond precision: JavaScript dates would round
 * `createdAt` to milliseconds and skip or repeat rows that share one.
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
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    conds.push(Prisma.sql`("createdAt", id) < (${c.ts}::timestamptz, ${c.id})`);
  }
  const where = conds.length ? Prisma.sql`WHERE ${Prisma.join(conds, ' AND ')}` : Prisma.empty;
  const page = await deps.prisma.$queryRaw<{ id: string; ts: string }[]>`
    SELECT id, to_char("createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
    FROM backup_records ${where}
    ORDER BY "createdAt" DESC, id DESC
    LIMIT ${input.limit + 1}`;
  const rows = page.slice(0, input.limit);
  const records = await deps.prisma.backupRecord.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
  const byId = new Map(records.map((r) => [r.id, r]));
  const items = rows.flatMap((r) => {
    const rec = byId.get(r.id);
    return rec ? [toBackupView(rec)] : []; // deleted between the two reads
  });
  const last = rows.at(-1);
  const nextCursor = page.length > input.limit && last ? Buffer.from(`${last.ts}|${last.id}`).toString('base64url') : null;
  return { items, nextCursor };
}
