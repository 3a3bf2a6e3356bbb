import type pg from 'pg';
import { quoteIdent, quoteLiteral, readColumns, type ColumnInfo } from '../backup-format/catalog.js';
import { BACKUP_TABLES, tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { AppError } from '../errors.js';
import type { BackupMetadata } from '../backup-format/metadata.js';
import { invalidBackup, MAX_PROBLEMS, type Problem } from './problems.js';
import { rawTable, type StagedFile } from './stage.js';

/** Tables every backup must hold: without them a restore would break references. */
const REQUIRED: BackupTableKey[] = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments'];
const PER_CHECK = 5;

export interface TypedTable {
  key: BackupTableKey;
  table: string;
  /** `pg_temp` table holding the rows with the live table's column types, plus `__ord`. */
  typed: string;
  columns: ColumnInfo[];
  rows: number;
}

export function typedTable(key: BackupTableKey): string {
  return `pg_temp.${quoteIdent(`mp_typed_${key}`)}`;
}

/** SQL that turns `doc`'s field into the column's type; a missing field takes the column default. */
function projection(c: ColumnInfo, defaultExpr: string | undefined): string {
  const field = quoteLiteral(c.name);
  const isJson = /^jsonb?$/.test(c.type);
  // A SQL NULL is exported as JSON null, so JSON null comes back as SQL NULL.
  const value = isJson ? `NULLIF(doc->${field}, 'null'::jsonb)::${c.type}` : `(doc->>${field})::${c.type}`;
  return `CASE WHEN doc ? ${field} THEN ${value} ELSE ${defaultExpr ?? 'NULL'} END AS ${quoteIdent(c.name)}`;
}

async function columnDefaults(client: pg.PoolClient, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; expr: string }>(
    `SELECT a.attname AS name, pg_get_expr(d.adbin, d.adrelid) AS expr
       FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = to_regclass($1)`,
    [`public.${quoteIdent(table)}`],
  );
  return new Map(rows.map((r) => [r.name, r.expr]));
}

/**
 * Checks everything about the staged file that does not need the live tables, then converts
 * each table's rows to typed temporary tables (`mp_typed_<key>`) ready to be swapped in.
 * Throws `INVALID_BACKUP_FILE` with the first problems found (table, row, field, what is wrong),
 * or `UNSUPPORTED_BACKUP_VERSION` for a file from a schema this database does not have.
 */
export async function buildTypedTables(
  client: pg.PoolClient,
  staged: StagedFile,
  appliedMigrations: Set<string>,
): Promise<TypedTable[]> {
  const problems = checkMetadata(staged, staged.metadata, appliedMigrations);
  if (problems.length > 0) throw invalidBackup(problems);

  const typed: TypedTable[] = [];
  for (const t of BACKUP_TABLES) {
    const rows = staged.counts.get(t.key);
    if (rows === undefined) continue;
    const columns = await readColumns(client, t.table);
    problems.push(...(await checkShape(client, t.key, columns)));
    if (problems.length >= MAX_PROBLEMS) break;
    if (problems.length > 0) continue;
    const defaults = await columnDefaults(client, t.table);
    const name = typedTable(t.key);
    await client.query('SAVEPOINT mp_typed');
    try {
      await client.query(
        `CREATE TEMP TABLE ${name} ON COMMIT DROP AS
           SELECT __ord, ${columns.map((c) => projection(c, defaults.get(c.name))).join(', ')} FROM ${rawTable(t.key)}`,
      );
      await client.query('RELEASE SAVEPOINT mp_typed');
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT mp_typed');
      const found = await diagnoseCasts(client, t.key, columns);
      problems.push(...(found.length > 0 ? found : [{ table: t.key, problem: `a value has the wrong type (${(err as Error).message})` }]));
      continue;
    }
    problems.push(...(await checkNotNull(client, t.key, name, columns)));
    await client.query(`DROP TABLE ${rawTable(t.key)}`);
    typed.push({ key: t.key, table: t.table, typed: name, columns, rows });
  }
  if (problems.length > 0) throw invalidBackup(problems);
  return typed;
}

function checkMetadata(staged: StagedFile, meta: BackupMetadata, applied: Set<string>): Problem[] {
  if (meta.schemaVersion && !applied.has(meta.schemaVersion)) {
    throw new AppError(
      'UNSUPPORTED_BACKUP_VERSION',
      `This backup was written by schema version ${meta.schemaVersion}, which this database does not have; upgrade the service (apply its migrations) before restoring it`,
    );
  }
  const problems: Problem[] = [];
  for (const key of REQUIRED) {
    if (!staged.counts.has(key)) problems.push({ table: key, problem: 'this table is missing from the file' });
  }
  const options = meta.options ?? {};
  if (options.includeAuditLogs && !staged.counts.has('auditLogs')) {
    problems.push({ table: 'auditLogs', problem: 'metadata says audit logs are included, but the file has none' });
  }
  if (options.includeSessions && !staged.counts.has('sessions')) {
    problems.push({ table: 'sessions', problem: 'metadata says sessions are included, but the file has none' });
  }
  for (const [key, expected] of Object.entries(meta.recordCounts ?? {})) {
    if (expected === undefined || !tableByKey(key)) continue;
    const actual = staged.counts.get(key as BackupTableKey) ?? 0;
    if (actual !== expected) {
      problems.push({ table: key, problem: `metadata.recordCounts says ${expected} rows, the file has ${actual}` });
    }
  }
  return problems;
}

/** Rows that are not objects, and fields no column has (a typo, or a file from another product). */
async function checkShape(client: pg.PoolClient, key: BackupTableKey, columns: ColumnInfo[]): Promise<Problem[]> {
  const names = `ARRAY[${columns.map((c) => quoteLiteral(c.name)).join(', ')}]::text[]`;
  const { rows } = await client.query<{ ord: string; kind: string; extra: string[] | null }>(
    `SELECT __ord AS ord, jsonb_typeof(doc) AS kind,
            CASE WHEN jsonb_typeof(doc) = 'object' THEN ARRAY(SELECT jsonb_object_keys(doc - ${names})) END AS extra
       FROM ${rawTable(key)}
      WHERE jsonb_typeof(doc) <> 'object' OR (doc - ${names}) <> '{}'::jsonb
      ORDER BY __ord LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) =>
    r.kind !== 'object'
      ? { table: key, row: Number(r.ord), problem: `a row must be an object, this is ${r.kind === 'array' ? 'an array' : `a ${r.kind}`}` }
      : { table: key, row: Number(r.ord), field: r.extra?.[0], problem: `unknown field(s) ${r.extra?.map((f) => `"${f}"`).join(', ')}` },
  );
}

/** Finds the first values that do not convert to their column's type (only after a conversion failed). */
async function diagnoseCasts(client: pg.PoolClient, key: BackupTableKey, columns: ColumnInfo[]): Promise<Problem[]> {
  await client.query(
    `CREATE OR REPLACE FUNCTION pg_temp.mp_castable(v text, t text) RETURNS boolean LANGUAGE plpgsql AS $$
     BEGIN EXECUTE format('SELECT %L::%s', v, t); RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$`,
  );
  const problems: Problem[] = [];
  for (const c of columns) {
    if (/^jsonb?$/.test(c.type)) continue;
    const field = quoteLiteral(c.name);
    const { rows } = await client.query<{ ord: string; value: string | null; kind: string }>(
      `SELECT __ord AS ord, doc->>${field} AS value, jsonb_typeof(doc->${field}) AS kind FROM ${rawTable(key)}
        WHERE doc ? ${field} AND doc->${field} <> 'null'::jsonb
          AND (jsonb_typeof(doc->${field}) IN ('object', 'array') OR NOT pg_temp.mp_castable(doc->>${field}, ${quoteLiteral(c.type)}))
        ORDER BY __ord LIMIT ${PER_CHECK}`,
    );
    for (const r of rows) {
      const shown = r.value && r.value.length > 60 ? `${r.value.slice(0, 60)}…` : r.value;
      problems.push({ table: key, row: Number(r.ord), field: c.name, problem: `${JSON.stringify(shown)} is not a valid ${c.type}` });
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  return problems;
}

async function checkNotNull(client: pg.PoolClient, key: BackupTableKey, typed: string, columns: ColumnInfo[]): Promise<Problem[]> {
  const required = columns.filter((c) => c.notNull);
  if (required.length === 0) return [];
  const { rows } = await client.query<{ ord: string; missing: string[] }>(
    `SELECT __ord AS ord, array_remove(ARRAY[${required.map((c) => `CASE WHEN ${quoteIdent(c.name)} IS NULL THEN ${quoteLiteral(c.name)} END`).join(', ')}], NULL) AS missing
       FROM ${typed} WHERE ${required.map((c) => `${quoteIdent(c.name)} IS NULL`).join(' OR ')}
      ORDER BY __ord LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) => ({ table: key, row: Number(r.ord), field: r.missing[0], problem: `required field(s) ${r.missing.join(', ')} missing or null` }));
}
