import { z } from 'zod';
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../backup-format/catalog.js';
import { BACKUP_TABLES } from '../backup-format/tables.js';
import { publicTable } from './keys.js';
import { schemaDiskBytes, writeLogTriggerStatements } from '../sql/dialect.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * A restore point is the schema the swap moves the replaced live tables into (instead of dropping
 * them): `mp_restore_point_<first 16 hex digits of the operation id>`. Its comment holds the full
 * operation id, so recovery and housekeeping can tell whose it is from the catalog alone.
 * Trap: it starts like the staging schemas (`mp_restore_`): code that drops staging schemas by
 * prefix must leave these alone ({@link isRestorePoint}).
 */
export const RESTORE_POINT_PREFIX = 'mp_restore_point_';

export function restorePointSchema(operationId: string): string {
  return `${RESTORE_POINT_PREFIX}${operationId.replaceAll('-', '').slice(0, 16)}`;
}

export const isRestorePoint = (schema: string): boolean => schema.startsWith(RESTORE_POINT_PREFIX);

/** Objects of ours inside a restore point that are not retained tables. */
const WRITES_TABLE = '__writes';
const TRACK_FUNCTION = '__track';
/** Triggers on the live tables that log writes into the newest restore point (see {@link trackWrites}). */
const TRIGGER_PREFIX = 'mp_undo_track_';
/** Sessions are cleared by a restore and by its undo alike: writes to them are not tracked. */
const UNTRACKED = new Set(['sessions']);

/** Restore points in the catalog, with the operation id each was made by (null if its comment is missing). */
export async function listRestorePoints(db: Queryable): Promise<{ schema: string; operationId: string | null }[]> {
  const { rows } = await db.query<{ schema: string; operationId: string | null }>(
    `SELECT nspname AS schema, obj_description(oid, 'pg_namespace') AS "operationId"
       FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY nspname`,
    [RESTORE_POINT_PREFIX],
  );
  return rows;
}

/** The retained tables of restore point `schema` (live names), or [] when it does not exist. */
export async function restorePointTables(db: Queryable, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT starts_with(c.relname, '__') ORDER BY c.relname`,
    [schema],
  );
  return rows.map((r) => r.name);
}

/** Disk used by restore point `schema` (tables, indexes, TOAST and the write log), in bytes. */
export async function restorePointBytes(db: Queryable, schema: string): Promise<bigint> {
  return schemaDiskBytes(db, schema);
}

/**
 * Inside the swap transaction, with the new tables in `public` and the old ones in `schema`: starts
 * logging every write to the live `tables` (statement triggers with transition tables: one INSERT
 * per statement into `<schema>.__writes`, the row's `id` and whether it existed before that write).
 * The undo preview reads it ({@link countWritesSince}), exactly, where table statistics would only
 * estimate. A TRUNCATE logs every row it removes. Dropping the restore point (CASCADE) removes the
 * function, and with it the triggers.
 */
export async function trackWrites(client: Queryable, schema: string, tables: string[]): Promise<void> {
  const log = `${quoteIdent(schema)}.${quoteIdent(WRITES_TABLE)}`;
  const fn = `${quoteIdent(schema)}.${quoteIdent(TRACK_FUNCTION)}`;
  await client.query(
    `CREATE TABLE ${log} (seq bigint GENERATED ALWAYS AS IDENTITY, tbl text NOT NULL, key text NOT NULL, existed ` +
      `boolean NOT NULL)`,
  );
  await client.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${log} (tbl, key, existed) SELECT TG_TABLE_NAME, n.id::text, false FROM n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO ${log} (tbl, key, existed) SELECT TG_TABLE_NAME, o.id::text, true FROM o;
    INSERT INTO ${log} (tbl, key, existed) SELECT TG_TABLE_NAME, n.id::text, false FROM n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO ${log} (tbl, key, existed) SELECT TG_TABLE_NAME, o.id::text, true FROM o;
  ELSE
    EXECUTE format('INSERT INTO ${log.replaceAll("'", "''")} (tbl, key, existed) '
      || 'SELECT %L, id::text, true FROM %I.%I', TG_TABLE_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $f$`);
  const tag = schema.slice(RESTORE_POINT_PREFIX.length);
  for (const table of tables.filter((t) => !UNTRACKED.has(t))) {
    const on = publicTable(table);
    const name = (op: string) => quoteIdent(`${TRIGGER_PREFIX}${tag}_${op}`);
    for (const statement of writeLogTriggerStatements(on, fn, name)) await client.query(statement);
  }
}

/**
 * Drops the write-tracking triggers of earlier restore points from tables of `schema` (tables that
 * are being retained, or that an undo brings back), so no restore point logs writes it no longer owns.
 */
export async function dropTrackers(client: Queryable, schema: string, tables: string[]): Promise<void> {
  const { rows } = await client.query<{ table: string; name: string }>(
    `SELECT c.relname AS "table", t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2) AND starts_with(t.tgname, $3) AND NOT t.tgisinternal`,
    [schema, tables, TRIGGER_PREFIX],
  );
  for (const r of rows)
    await client.query(`DROP TRIGGER ${quoteIdent(r.name)} ON ${quoteIdent(schema)}.${quoteIdent(r.table)}`);
}

/** Rows written to one live table since the restore, by what happened to each key. */
export interface TableWrites {
  /** Backup key of the table (`unionMembers`), as in the restore's `restored`. */
  table: string;
  /** Keys that did not exist at the restore and exist now. */
  inserted: number;
  /** Keys that existed at the restore and were changed (possibly to the same values), and still exist. */
  updated: number;
  /** Keys that existed at the restore and are gone. */
  deleted: number;
}

export const tableWritesSchema = z.object({
  table: z.string(),
  inserted: z.number(),
  updated: z.number(),
  deleted: z.number(),
}) satisfies z.ZodType<TableWrites>;

/**
 * What an undo of the restore whose point is `schema` would discard, per tracked table: exact counts
 * from the write log. A key is judged by its first logged write (did it exist then?) and by the
 * live table now. A row inserted and deleted again since counts nowhere (nothing of it is lost).
 */
export async function countWritesSince(db: Queryable, schema: string): Promise<TableWrites[]> {
  const tables = (await restorePointTables(db, schema)).filter((t) => !UNTRACKED.has(t));
  const out: TableWrites[] = [];
  for (const table of tables) {
    const { rows: types } = await db.query<{ type: string | null }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.attname = 'id' AND NOT a.attisdropped`,
      [publicTable(table)],
    );
    const idType = types[0]?.type;
    if (!idType) continue;
    const { rows } = await db.query<{ inserted: number; updated: number; deleted: number }>(
      `WITH firsts AS (
         SELECT DISTINCT ON (key) key, existed FROM ${quoteIdent(schema)}.${quoteIdent(WRITES_TABLE)}
          WHERE tbl = ${quoteLiteral(table)} ORDER BY key, seq)
       SELECT count(*) FILTER (WHERE NOT f.existed AND x.id IS NOT NULL)::int AS inserted,
              count(*) FILTER (WHERE f.existed AND x.id IS NOT NULL)::int AS updated,
              count(*) FILTER (WHERE f.existed AND x.id IS NULL)::int AS deleted
         FROM firsts f LEFT JOIN ${publicTable(table)} x ON x.id = f.key::${idType}`,
    );
    const key = BACKUP_TABLES.find((t) => t.table === table)?.key ?? table;
    out.push({ table: key, ...rows[0]! });
  }
  return out;
}

/**
 * Drops restore point `schema` and everything in it (the retained tables, the write log, and through
 * the log's function the triggers on the live tables). Waits for a pre-restore export reading it.
 */
export async function dropRestorePoint(db: Queryable, schema: string): Promise<void> {
  if (!isRestorePoint(schema)) throw new Error(`${schema} is not a restore point`);
  await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
}

/** Drops every restore point (a reset ends every undo); returns their names. */
export async function dropAllRestorePoints(db: Queryable): Promise<string[]> {
  const points = await listRestorePoints(db);
  for (const p of points) await dropRestorePoint(db, p.schema);
  return points.map((p) => p.schema);
}
