import type pg from 'pg';
import { quoteIdent } from '../backup-format/catalog.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** A primary key, unique constraint or foreign key, as the catalog describes it. */
export interface ConstraintDef {
  name: string;
  kind: 'p' | 'u' | 'f';
  table: string;
  refTable: string | null;
  columns: string[];
  refColumns: string[];
  /** `pg_get_constraintdef`, read with `public` on the search path (so table names are unqualified). */
  def: string;
}

/** An index of a table: a plain one (Prisma's @unique and @@index), or the one a key constraint owns. */
export interface IndexDef {
  name: string;
  /** Owned by a primary key, unique or exclusion constraint. */
  key: boolean;
  table: string;
  columns: string[];
  unique: boolean;
  def: string;
  /** The table as `pg_get_indexdef` names it (`public.users`, quoted only when needed). */
  on: string;
}

/** Primary keys, unique constraints and foreign keys on public `tables` or pointing at them. */
export async function readConstraints(db: Queryable, tables: string[]): Promise<ConstraintDef[]> {
  const { rows } = await db.query<ConstraintDef>(
    `SELECT c.conname AS name, c.contype AS kind, t.relname AS "table", r.relname AS "refTable",
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(coalesce(c.confkey, '{}')) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS "refColumns",
            pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
       LEFT JOIN pg_class r ON r.oid = c.confrelid
      WHERE c.contype IN ('p', 'u', 'f') AND (t.relname = ANY($1) OR r.relname = ANY($1))
      ORDER BY c.contype, c.conname`,
    [tables],
  );
  return rows;
}

/** Every index of public `table`. */
export async function readIndexes(db: Queryable, table: string): Promise<IndexDef[]> {
  const { rows } = await db.query<IndexDef>(
    `SELECT ic.relname AS name, t.relname AS "table",
            EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
              AS key, i.indisunique AS unique, pg_get_indexdef(i.indexrelid) AS def,
            format('public.%I', t.relname) AS on,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      WHERE t.relname = $1
      ORDER BY ic.relname`,
    [table],
  );
  return rows;
}

/**
 * Sequences owned by columns of the public `tables` (serial ids), to carry over and move past the restored ids:
 * one query for all of them (in `tables` order), since a connection runs one statement at a time.
 */
export async function readOwnedSequences(
  db: Queryable,
  tables: readonly string[],
): Promise<{ table: string; column: string; sequence: string }[]> {
  const { rows } = await db.query<{ table: string; column: string; sequence: string }>(
    `SELECT t.name AS table, a.attname AS column,
            pg_get_serial_sequence(format('public.%I', t.name), a.attname) AS sequence
       FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord)
       JOIN pg_attribute a
         ON a.attrelid = to_regclass(format('public.%I', t.name)) AND a.attnum > 0 AND NOT a.attisdropped
      WHERE pg_get_serial_sequence(format('public.%I', t.name), a.attname) IS NOT NULL
      ORDER BY t.ord, a.attnum`,
    [tables],
  );
  return rows;
}

export const publicTable = (table: string) => `public.${quoteIdent(table)}`;
