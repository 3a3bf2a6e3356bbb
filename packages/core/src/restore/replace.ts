import type pg from 'pg';
import { quoteIdent } from '../backup-format/catalog.js';
import { invalidBackup, type Problem } from './problems.js';
import type { TypedTable } from './typed.js';

interface ConstraintDef {
  name: string;
  kind: 'p' | 'u' | 'f';
  table: string;
  refTable: string | null;
  columns: string[];
  refColumns: string[];
  def: string;
}

interface IndexDef {
  name: string;
  table: string;
  columns: string[];
  unique: boolean;
  def: string;
}

/** Primary keys, unique constraints and foreign keys on `tables` or pointing at them. */
async function readConstraints(client: pg.PoolClient, tables: string[]): Promise<ConstraintDef[]> {
  const { rows } = await client.query<ConstraintDef>(
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

/** Indexes of `tables` that no constraint owns (Prisma's @unique and @@index are plain indexes). */
async function readIndexes(client: pg.PoolClient, tables: string[]): Promise<IndexDef[]> {
  const { rows } = await client.query<IndexDef>(
    `SELECT ic.relname AS name, t.relname AS "table", i.indisunique AS unique, pg_get_indexdef(i.indexrelid) AS def,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      WHERE t.relname = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
      ORDER BY ic.relname`,
    [tables],
  );
  return rows;
}

/** Serial sequences of `tables`' columns, to move past the restored ids. */
async function readSequences(client: pg.PoolClient, tables: TypedTable[]): Promise<{ table: string; column: string; sequence: string }[]> {
  const out: { table: string; column: string; sequence: string }[] = [];
  for (const t of tables) {
    for (const c of t.columns) {
      const { rows } = await client.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [
        `public.${quoteIdent(t.table)}`,
        c.name,
      ]);
      if (rows[0]?.seq) out.push({ table: t.table, column: c.name, sequence: rows[0].seq });
    }
  }
  return out;
}

const tableRef = (table: string) => `public.${quoteIdent(table)}`;

/**
 * Replaces the rows of every table in `typed` with the staged rows, inside the caller's
 * transaction, and deletes every session (everyone must log in again).
 *
 * Keys and indexes are dropped, the tables truncated and bulk-filled, then keys and indexes are
 * rebuilt from the definitions read from the catalog: building them once is about twice as fast
 * as maintaining them row by row. Rebuilding them is also the last validation: a duplicate key or
 * a reference to a row that is not there ends in `INVALID_BACKUP_FILE` naming the rows, and the
 * caller rolls back, so the live tables are never left half replaced. Tables not in the file keep
 * their rows.
 */
export async function replaceTables(
  client: pg.PoolClient,
  typed: TypedTable[],
  onStep?: (step: string) => void,
): Promise<void> {
  const names = typed.map((t) => t.table);
  const constraints = await readConstraints(client, names);
  const indexes = await readIndexes(client, names);
  const sequences = await readSequences(client, typed);
  const foreign = constraints.filter((c) => c.kind === 'f');
  const keys = constraints.filter((c) => c.kind !== 'f' && names.includes(c.table));

  await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
  await client.query('SAVEPOINT mp_replace');
  for (const fk of foreign) await client.query(`ALTER TABLE ${tableRef(fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
  for (const k of keys) await client.query(`ALTER TABLE ${tableRef(k.table)} DROP CONSTRAINT ${quoteIdent(k.name)}`);
  for (const ix of indexes) await client.query(`DROP INDEX public.${quoteIdent(ix.name)}`);
  await client.query(`TRUNCATE ${names.map(tableRef).join(', ')}`);
  for (const t of typed) {
    onStep?.(`loading ${t.key}`);
    const cols = t.columns.map((c) => quoteIdent(c.name)).join(', ');
    await client.query(`INSERT INTO ${tableRef(t.table)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${t.typed}`);
  }
  await client.query('DELETE FROM public.sessions');

  onStep?.('rebuilding keys and indexes');
  const pending: { sql: string; explain: () => Promise<Problem[]> }[] = [
    ...keys.map((k) => ({
      sql: `ALTER TABLE ${tableRef(k.table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.def}`,
      explain: () => findDuplicates(client, typed, k.table, k.columns),
    })),
    ...indexes.map((ix) => ({
      sql: ix.def,
      explain: () => (ix.unique ? findDuplicates(client, typed, ix.table, ix.columns) : Promise.resolve([])),
    })),
    ...foreign.map((fk) => ({
      sql: `ALTER TABLE ${tableRef(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`,
      explain: () => findOrphans(client, typed, fk),
    })),
  ];
  for (const step of pending) {
    try {
      await client.query(step.sql);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('23')) throw err;
      // Back to before the swap: the typed tables are still there to say which rows are wrong.
      await client.query('ROLLBACK TO SAVEPOINT mp_replace');
      const problems = await step.explain();
      throw invalidBackup(problems.length > 0 ? problems : [{ problem: (err as Error).message }]);
    }
  }
  for (const s of sequences) {
    await client.query(
      `SELECT setval($1, coalesce((SELECT max(${quoteIdent(s.column)}) FROM ${tableRef(s.table)}), 0) + 1, false)`,
      [s.sequence],
    );
  }
  await client.query('RELEASE SAVEPOINT mp_replace');
}

async function findDuplicates(client: pg.PoolClient, typed: TypedTable[], table: string, columns: string[]): Promise<Problem[]> {
  const t = typed.find((x) => x.table === table);
  if (!t || columns.length === 0) return [];
  const cols = columns.map(quoteIdent).join(', ');
  const { rows } = await client.query<{ rows: string[]; value: string }>(
    `SELECT array_agg(__ord ORDER BY __ord)::text[] AS rows, row(${cols})::text AS value
       FROM ${t.typed} WHERE ${columns.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ')}
      GROUP BY ${cols} HAVING count(*) > 1 ORDER BY min(__ord) LIMIT 5`,
  );
  return rows.map((r) => ({
    table: t.key,
    row: Number(r.rows[1]),
    field: columns.join(','),
    problem: `duplicate ${columns.join(', ')} ${r.value} (also in row ${r.rows[0]})`,
  }));
}

async function findOrphans(client: pg.PoolClient, typed: TypedTable[], fk: ConstraintDef): Promise<Problem[]> {
  const child = typed.find((x) => x.table === fk.table);
  if (!child || !fk.refTable) return [];
  const parent = typed.find((x) => x.table === fk.refTable);
  const parentRef = parent ? parent.typed : tableRef(fk.refTable);
  const join = fk.columns.map((c, i) => `p.${quoteIdent(fk.refColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
  const { rows } = await client.query<{ ord: string; value: string }>(
    `SELECT c.__ord AS ord, row(${fk.columns.map((c) => `c.${quoteIdent(c)}`).join(', ')})::text AS value FROM ${child.typed} c
      WHERE ${fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ')}
        AND NOT EXISTS (SELECT 1 FROM ${parentRef} p WHERE ${join})
      ORDER BY c.__ord LIMIT 5`,
  );
  const parentKey = parent?.key ?? fk.refTable;
  return rows.map((r) => ({
    table: child.key,
    row: Number(r.ord),
    field: fk.columns.join(','),
    problem: `refers to ${parentKey} ${r.value}, which is not in the file`,
  }));
}
