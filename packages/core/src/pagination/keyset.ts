import type pg from 'pg';
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
  /** What each row returns beside the cursor's `ts`; `id` unless given (it must include `id`). */
  columns?: Prisma.Sql;
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
  const columns = input.columns ?? Prisma.sql`id`;
  return Prisma.sql`
    SELECT ${columns}, to_char("createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
      FROM ${Prisma.raw(input.table)} ${where}
     ORDER BY "createdAt" DESC, id DESC
     LIMIT ${input.limit + 1}`;
}

/**
 * One page of the ids of `table` matching `conditions` (already-safe SQL fragments), newest first.
 * @throws AppError VALIDATION_ERROR for a cursor this API did not hand out
 */
export async function keysetPage(prisma: PrismaClient, input: KeysetInput): Promise<KeysetPage> {
  const page = toPage(await prisma.$queryRaw<{ id: string; ts: string }[]>(keysetQuery(input)), input.limit);
  return { ids: page.rows.map((r) => r.id), nextCursor: page.nextCursor };
}

/**
 * One page of `table`'s rows (`columns`) matching `conditions`, newest first, in one round trip on node-pg: for a
 * list read so often that a second query for the rows (as {@link keysetPage} leaves to Prisma) shows in its latency.
 * @throws AppError VALIDATION_ERROR for a cursor this API did not hand out
 */
export async function keysetRows<T extends { id: string }>(
  db: Pick<pg.Pool, 'query'>,
  input: KeysetInput & { columns: Prisma.Sql },
): Promise<{ rows: T[]; nextCursor: string | null }> {
  const query = keysetQuery(input);
  const { rows } = await db.query<T & { ts: string }>(query.text, query.values);
  return toPage(rows, input.limit);
}

/** The `limit + 1` rows of {@link keysetQuery} as one page and the cursor of the next, if there is one. */
function toPage<T extends { id: string; ts: string }>(
  rows: T[],
  limit: number,
): { rows: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? Buffer.from(`${last.ts}|${last.id}`).toString('base64url') : null;
  return { rows: page, nextCursor };
}

/** `rows` in the order of `ids`, leaving out any deleted between the two reads. */
export function inPageOrder<T extends { id: string }>(ids: string[], rows: T[]): T[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
