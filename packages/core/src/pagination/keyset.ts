import { Prisma, type PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';

/**
 * Keyset pagination, newest first (`"createdAt" DESC, id DESC`), shared by the lists of backups, drills and
 * restores. The cursor is opaque to clients: base64url of `<createdAt at microseconds>|<id>`. The page boundary
 * is compared in SQL at microsecond precision: JavaScript dates would round `createdAt` to milliseconds and skip
 * or repeat rows that share one.
 */
export interface KeysetPage {
  /** The ids of this page, in order. */
  ids: string[];
  nextCursor: string | null;
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** @throws AppError VALIDATION_ERROR for a cursor this API did not hand out */
export function decodeCursor(cursor: string): { ts: string; id: string } {
  const [ts, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!ts || !id || !CURSOR_TIME.test(ts) || id.length > 64) {
    throw new AppError('VALIDATION_ERROR', 'Invalid cursor', [
      { path: 'cursor', message: 'not a cursor this API returned' },
    ]);
  }
  return { ts, id };
}

type KeysetInput = {
  table: 'backup_records' | 'operations';
  conditions: Prisma.Sql[];
  limit: number;
  cursor?: string;
};

/**
 * The query of one page (one row more than `limit`, to tell whether there is a next page). Served by an index on
 * `("createdAt", id)` scanned backwards, the cursor's row comparison included, and for a filter on one column
 * by an index on `(column, "createdAt", id)`.
 * @throws AppError VALIDATION_ERROR for a cursor this API did not hand out
 */
export function keysetQuery(input: KeysetInput): Prisma.Sql {
  const conds = [...input.conditions];
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    conds.push(Prisma.sql`("createdAt", id) < (${c.ts}::timestamptz, ${c.id})`);
  }
  const where = conds.length ? Prisma.sql`WHERE ${Prisma.join(conds, ' AND ')}` : Prisma.empty;
  return Prisma.sql`
    SELECT id, to_char("createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
      FROM ${Prisma.raw(input.table)} ${where}
     ORDER BY "createdAt" DESC, id DESC
     LIMIT ${input.limit + 1}`;
}

/**
 * One page of the ids of `table` matching `conditions` (already-safe SQL fragments), newest first.
 * @throws AppError VALIDATION_ERROR for a cursor this API did not hand out
 */
export async function keysetPage(prisma: PrismaClient, input: KeysetInput): Promise<KeysetPage> {
  const page = await prisma.$queryRaw<{ id: string; ts: string }[]>(keysetQuery(input));
  const rows = page.slice(0, input.limit);
  const last = rows.at(-1);
  const nextCursor =
    page.length > input.limit && last ? Buffer.from(`${last.ts}|${last.id}`).toString('base64url') : null;
  return { ids: rows.map((r) => r.id), nextCursor };
}

/** `rows` in the order of `ids`, leaving out any deleted between the two reads. */
export function inPageOrder<T extends { id: string }>(ids: string[], rows: T[]): T[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
