import type pg from 'pg';
import { isJsonColumn, quoteIdent, quoteLiteral, readColumns, type ColumnInfo } from '../backup-format/catalog.js';
import { importJsonExpression } from '../backup-format/json-values.js';
import { tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { AppError } from '../errors.js';
import { invalidBackup, MAX_PROBLEMS, type Problem } from './problems.js';
import { publicTable, readConstraints, readIndexes, type ConstraintDef, type IndexDef } from './keys.js';
import { rawTable, typedTable, type StagedFile } from './stage.js';
import type { BackupMetadata } from '../backup-format/metadata.js';

/** Tables every backup must hold: without them a restore would break references. */
const REQUIRED: BackupTableKey[] = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments'];
const PER_CHECK = 5;

/** A table rebuilt in the staging schema: rows converted, keys and indexes in place. */
export interface BuiltTable {
  key: BackupTableKey;
  table: string;
  columns: ColumnInfo[];
  rows: number;
  /** Its rows were loaded typed by the stage (no raw rows to explain problems from). */
  typed: boolean;
}

/**
 * The staged rows of a table for diagnostics, as relation `r` with `r.__ord` (the row's index in
 * the file) and each field as text: from the raw JSON rows, or from a typed table, whose physical
 * order is the file's order (loaded by one COPY into a new table).
 */
function stagedRows(schema: string, key: BackupTableKey, typed: boolean): { from: string; field: (column: string) => string } {
  if (typed) {
    return {
      from: `(SELECT row_number() OVER (ORDER BY ctid) - 1 AS __ord, t.* FROM ${typedTable(schema, key)} t) AS r`,
      field: (column) => `r.${quoteIdent(column)}::text`,
    };
  }
  return { from: parsed(rawTable(schema, key)), field: (column) => `r.doc->>${quoteLiteral(column)}` };
}

const staged = (schema: string, table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;

/**
 * The raw rows with `doc` parsed as jsonb (staged as text, so each row is parsed once, here).
 * OFFSET 0 keeps the planner from inlining the cast into every use of `doc`, which would parse
 * each row once per column.
 */
const parsed = (raw: string) => `(SELECT __ord, doc::jsonb AS doc FROM ${raw} OFFSET 0) AS r`;

const columnNames = (columns: ColumnInfo[]) => `ARRAY[${columns.map((c) => quoteLiteral(c.name)).join(', ')}]::text[]`;

/**
 * Checks what the metadata promises against what the file held: schema version known to this
 * database, required tables present, options and counts consistent.
 * @throws AppError UNSUPPORTED_BACKUP_VERSION; INVALID_BACKUP_FILE listing the problems
 */
export function checkStagedFile(file: StagedFile, appliedMigrations: Set<string>): void {
  const meta = file.metadata;
  if (meta.schemaVersion && !appliedMigrations.has(meta.schemaVersion)) {
    throw new AppError(
      'UNSUPPORTED_BACKUP_VERSION',
      `This backup was written by schema version ${meta.schemaVersion}, which this database does not have; upgrade the service (apply its migrations) before restoring it`,
    );
  }
  const problems: Problem[] = [];
  for (const key of REQUIRED) {
    if (!file.counts.has(key)) problems.push({ table: key, problem: 'this table is missing from the file' });
  }
  const options = meta.options ?? {};
  if (options.includeAuditLogs && !file.counts.has('auditLogs')) {
    problems.push({ table: 'auditLogs', problem: 'metadata says audit logs are included, but the file has none' });
  }
  if (options.includeSessions && !file.counts.has('sessions')) {
    problems.push({ table: 'sessions', problem: 'metadata says sessions are included, but the file has none' });
  }
  for (const [key, expected] of Object.entries(meta.recordCounts ?? {})) {
    if (expected === undefined || !tableByKey(key)) continue;
    const actual = file.counts.get(key as BackupTableKey) ?? 0;
    if (actual !== expected) problems.push({ table: key, problem: `metadata.recordCounts says ${expected} rows, the file has ${actual}` });
  }
  if (problems.length > 0) throw invalidBackup(problems);
}

/**
 * SQL that turns `doc`'s field into the column's type. A missing field takes the column default.
 * JSON `null` is SQL NULL; a json column's tagged value (`taggedJson`, format 1.1) is untagged.
 */
function projection(c: ColumnInfo, defaultExpr: string | undefined, taggedJson: boolean): string {
  const field = quoteLiteral(c.name);
  // `->>` turns an object or array into its JSON text, which any text column would take: casting the
  // jsonb itself to numeric fails for exactly those, and diagnoseCasts then names the value.
  const scalar = `CASE WHEN jsonb_typeof(doc->${field}) IN ('object', 'array') THEN (doc->${field})::numeric::text ELSE doc->>${field} END`;
  const value = isJsonColumn(c) ? importJsonExpression(`doc->${field}`, c.type, taggedJson) : `(${scalar})::${c.type}`;
  return `CASE WHEN doc ? ${field} THEN ${value} ELSE ${defaultExpr ?? 'NULL'} END`;
}

/**
 * Whether a file's rows can be read the fast way (typed, see `stageFile`): written by this product
 * at the database's current schema version, so every row has exactly the live columns. Any other
 * file (hand-written, the original app's seed format, an older schema) gets the full checks:
 * defaults for missing fields and unknown fields refused. Callers add the condition that the file
 * is one whose checksum is verified (a stored backup), since metadata alone can be written by anyone.
 */
export function isCompleteExport(metadata: BackupMetadata | undefined, currentSchemaVersion: string | null): boolean {
  return metadata?.app === 'millennium-potters' && !!currentSchemaVersion && metadata.schemaVersion === currentSchemaVersion;
}

async function columnDefaults(client: pg.PoolClient, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; expr: string }>(
    `SELECT a.attname AS name, pg_get_expr(d.adbin, d.adrelid) AS expr
       FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = to_regclass($1)`,
    [publicTable(table)],
  );
  return new Map(rows.map((r) => [r.name, r.expr]));
}

/** One index of a staged table, built on whichever builder connection is free. */
export interface IndexStep {
  sql: string;
  /** Columns of a unique index, to name the duplicates when it fails. */
  unique: string[];
}

/** A staged table with its rows in place, and what is left to build on it. */
export interface TablePlan {
  built: BuiltTable;
  /** Independent of each other: `CREATE INDEX` takes a SHARE lock, so several run on one table at once. */
  indexes: IndexStep[];
  /** After every index: primary and unique keys attached to their indexes, or added whole. */
  finish: IndexStep[];
}

/** `PRIMARY KEY (…)` / `UNIQUE (…)` with nothing more, which `ADD CONSTRAINT … USING INDEX` reproduces exactly. */
const PLAIN_KEY = /^(PRIMARY KEY|UNIQUE) \([^()]*\)$/;

/**
 * Prepares one table: converts its raw rows into `<schema>.<table>`, a table shaped like the live one
 * (columns, defaults, NOT NULL and CHECK constraints), unless the stage loaded it `typed` already;
 * then lists its indexes under their live names. A plain primary or unique key is built as its
 * unique index first and attached by `finish`, so every index of a table can be built at once.
 * Runs outside any transaction: nothing here touches live data.
 * @throws AppError INVALID_BACKUP_FILE explaining the rows that do not convert
 */
export async function planTable(
  client: pg.PoolClient,
  schema: string,
  key: BackupTableKey,
  rows: number,
  opts: { typed: boolean; taggedJson: boolean },
): Promise<TablePlan> {
  const table = tableByKey(key)!.table;
  const columns = await readColumns(client, table);
  const target = staged(schema, table);
  if (!opts.typed) await convertRows(client, schema, key, rows, columns, opts.taggedJson);

  // Same definitions and names, on the staged table (index names are per schema).
  const onTarget = (ix: IndexDef) => ix.def.replace(` ON ${ix.on} `, ` ON ${target} `);
  const indexes: IndexStep[] = [];
  const finish: IndexStep[] = [];
  const all = await readIndexes(client, table);
  const keyIndexes = new Map(all.filter((ix) => ix.key).map((ix) => [ix.name, ix]));
  for (const c of (await readConstraints(client, [table])).filter((x) => x.kind !== 'f' && x.table === table)) {
    const ix = keyIndexes.get(c.name);
    const kind = PLAIN_KEY.exec(c.def)?.[1];
    if (ix && kind) {
      indexes.push({ sql: onTarget(ix), unique: c.columns });
      finish.push({ sql: `ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(c.name)} ${kind} USING INDEX ${quoteIdent(c.name)}`, unique: [] });
    } else {
      finish.push({ sql: `ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`, unique: c.columns });
    }
  }
  for (const ix of all.filter((x) => !x.key)) indexes.push({ sql: onTarget(ix), unique: ix.unique ? ix.columns : [] });
  return { built: { key, table, columns, rows, typed: opts.typed }, indexes, finish };
}

/**
 * Runs one index step of `plan`.
 * @throws AppError INVALID_BACKUP_FILE naming duplicated rows when a unique index fails
 */
export async function buildIndex(client: pg.PoolClient, schema: string, plan: TablePlan, step: IndexStep): Promise<void> {
  try {
    await client.query(step.sql);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    const { key, typed } = plan.built;
    const found = await findDuplicates(client, stagedRows(schema, key, typed), key, step.unique);
    throw invalidBackup(found.length > 0 ? found : [{ table: key, problem: (err as Error).message }]);
  }
}

/** Once every index of `plan` is built: attaches its keys, then gathers its statistics. */
export async function finishTable(client: pg.PoolClient, schema: string, plan: TablePlan): Promise<BuiltTable> {
  for (const step of plan.finish) await buildIndex(client, schema, plan, step);
  await client.query(`ANALYZE ${staged(schema, plan.built.table)}`);
  return plan.built;
}

/** Fills `<schema>.<table>` from the table's raw JSON rows, one cast per column. */
async function convertRows(
  client: pg.PoolClient,
  schema: string,
  key: BackupTableKey,
  rows: number,
  columns: ColumnInfo[],
  taggedJson: boolean,
): Promise<void> {
  const table = tableByKey(key)!.table;
  const raw = rawTable(schema, key);
  const target = staged(schema, table);
  const defaults = await columnDefaults(client, table);
  await client.query(`CREATE TABLE ${target} (LIKE ${publicTable(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)`);
  let inserted: number;
  try {
    // Rows that are not objects or carry unknown fields are left out here and explained below,
    // so the common case reads and parses every row once.
    const result = await client.query(
      `INSERT INTO ${target} (${columns.map((c) => quoteIdent(c.name)).join(', ')})
       SELECT ${columns.map((c) => projection(c, defaults.get(c.name), taggedJson)).join(', ')} FROM ${parsed(raw)}
        WHERE jsonb_typeof(doc) = 'object' AND (doc - ${columnNames(columns)}) = '{}'::jsonb`,
    );
    inserted = result.rowCount ?? 0;
  } catch (err) {
    const found = await diagnoseJson(client, schema, raw, key);
    if (found.length === 0) found.push(...(await diagnoseCasts(client, schema, raw, key, columns)));
    if (found.length === 0) found.push(...(await diagnoseNulls(client, raw, key, columns, defaults, taggedJson)));
    throw invalidBackup(found.length > 0 ? found : [{ table: key, problem: `a value has the wrong type (${(err as Error).message})` }]);
  }
  if (inserted !== rows) throw invalidBackup(await checkShape(client, raw, key, columns));
}

/**
 * Adds the foreign keys of the staged tables in `built` (validating them), so the swap needs no
 * check. Called as tables finish, it adds only the keys whose parents are built too, so the checks
 * overlap with the rest of the restore; the `final` call adds the rest, where a parent not in the
 * file is looked up in the live table. `claimed` (shared by every call of one restore) holds the
 * keys already taken, so two connections never add the same one.
 * @throws AppError INVALID_BACKUP_FILE naming rows that refer to nothing
 */
export async function addForeignKeys(
  client: pg.PoolClient,
  schema: string,
  built: BuiltTable[],
  opts: { claimed: Set<string>; final: boolean },
): Promise<void> {
  const names = built.map((b) => b.table);
  const fks = (await readConstraints(client, names)).filter(
    (c) => c.kind === 'f' && names.includes(c.table) && (opts.final || (c.refTable !== null && names.includes(c.refTable))),
  );
  for (const fk of fks) {
    const id = `${fk.table}.${fk.name}`;
    if (opts.claimed.has(id)) continue;
    opts.claimed.add(id);
    await client.query('BEGIN');
    try {
      // Unqualified parent names in the definition resolve to the staged tables first.
      await client.query(`SET LOCAL search_path = ${quoteIdent(schema)}, public`);
      await client.query(`ALTER TABLE ${staged(schema, fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      if ((err as { code?: string }).code !== '23503') throw err;
      const found = await findOrphans(client, schema, built, fk);
      throw invalidBackup(found.length > 0 ? found : [{ problem: (err as Error).message }]);
    }
  }
}

/** Rows that are not objects, and fields no column has (a typo, or a file from another product). */
async function checkShape(client: pg.PoolClient, raw: string, key: BackupTableKey, columns: ColumnInfo[]): Promise<Problem[]> {
  const names = columnNames(columns);
  const { rows } = await client.query<{ ord: string; kind: string; extra: string[] | null }>(
    `SELECT __ord AS ord, jsonb_typeof(doc) AS kind,
            CASE WHEN jsonb_typeof(doc) = 'object' THEN ARRAY(SELECT jsonb_object_keys(doc - ${names})) END AS extra
       FROM ${parsed(raw)}
      WHERE jsonb_typeof(doc) <> 'object' OR (doc - ${names}) <> '{}'::jsonb
      ORDER BY __ord LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) =>
    r.kind !== 'object'
      ? { table: key, row: Number(r.ord), problem: `a row must be an object, this is ${r.kind === 'array' ? 'an array' : `a ${r.kind}`}` }
      : { table: key, row: Number(r.ord), field: r.extra?.[0], problem: `unknown field(s) ${r.extra?.map((f) => `"${f}"`).join(', ')}` },
  );
}

/** `<schema>.mp_castable(value, type)`: whether a text converts to a type (PostgreSQL 15 has no pg_input_is_valid). */
async function castableFunction(client: pg.PoolClient, schema: string): Promise<string> {
  const castable = `${quoteIdent(schema)}.mp_castable`;
  await client.query(
    `CREATE OR REPLACE FUNCTION ${castable}(v text, t text) RETURNS boolean LANGUAGE plpgsql AS $$
     BEGIN EXECUTE format('SELECT %L::%s', v, t); RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$`,
  );
  return castable;
}

/** The JSON escape `\u0000` (not preceded by an escaped backslash), as a PostgreSQL regular expression. */
const NUL_ESCAPE = String.raw`(^|[^\\])(\\\\)*\\u0000`;
/** A row holding a NUL is read whole, to name its field, up to this many characters. */
const NUL_ROW_CHARS = 1 << 20;

const holdsNul = (v: unknown): boolean =>
  typeof v === 'string' ? v.includes('\0') : !!v && typeof v === 'object' && Object.entries(v).some(([k, x]) => k.includes('\0') || holdsNul(x));

/**
 * Rows PostgreSQL cannot read as jsonb (only run after a conversion failed): not JSON at all, or JSON
 * holding the NUL character `\u0000`, which PostgreSQL text (and so jsonb) cannot hold. Its own JSON
 * functions refuse such a row too, so the field at fault is found here, in rows of reasonable size.
 */
async function diagnoseJson(client: pg.PoolClient, schema: string, raw: string, key: BackupTableKey): Promise<Problem[]> {
  const castable = await castableFunction(client, schema);
  const { rows } = await client.query<{ ord: string; head: string; nul: boolean; doc: string | null }>(
    `SELECT __ord AS ord, left(doc, 60) AS head, nul, CASE WHEN nul AND length(doc) <= ${NUL_ROW_CHARS} THEN doc END AS doc
       FROM (SELECT __ord, doc, ${castable}(doc, 'json') AND doc ~ $1 AS nul FROM ${raw} WHERE NOT ${castable}(doc, 'jsonb')
              ORDER BY __ord LIMIT ${PER_CHECK}) r
      ORDER BY __ord`,
    [NUL_ESCAPE],
  );
  return rows.map((r) => {
    if (!r.nul) return { table: key, row: Number(r.ord), problem: `not valid JSON: ${JSON.stringify(r.head)}` };
    return { table: key, row: Number(r.ord), field: r.doc ? nulField(r.doc) : undefined, problem: 'holds a NUL character (\\u0000), which PostgreSQL cannot store' };
  });
}

/** The top-level field of a JSON object row that holds a NUL; undefined when it cannot be told (too deep, not an object). */
function nulField(doc: string): string | undefined {
  try {
    const row = JSON.parse(doc) as unknown;
    if (!row || typeof row !== 'object' || Array.isArray(row)) return undefined;
    return Object.entries(row).find(([, v]) => holdsNul(v))?.[0];
  } catch {
    return undefined; // deeper than the stack: the problem is still named, without its field
  }
}

/** The first values that do not convert to their column's type (only run after a conversion failed). */
async function diagnoseCasts(client: pg.PoolClient, schema: string, raw: string, key: BackupTableKey, columns: ColumnInfo[]): Promise<Problem[]> {
  const castable = await castableFunction(client, schema);
  const problems: Problem[] = [];
  for (const c of columns) {
    if (isJsonColumn(c)) continue;
    const field = quoteLiteral(c.name);
    const { rows } = await client.query<{ ord: string; value: string | null }>(
      `SELECT __ord AS ord, doc->>${field} AS value FROM ${parsed(raw)}
        WHERE doc ? ${field} AND doc->${field} <> 'null'::jsonb
          AND (jsonb_typeof(doc->${field}) IN ('object', 'array') OR NOT ${castable}(doc->>${field}, ${quoteLiteral(c.type)}))
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

/** Rows that leave a required column empty (missing, or null, with no default to fall back on). */
async function diagnoseNulls(
  client: pg.PoolClient,
  raw: string,
  key: BackupTableKey,
  columns: ColumnInfo[],
  defaults: Map<string, string>,
  taggedJson: boolean,
): Promise<Problem[]> {
  const required = columns.filter((c) => c.notNull);
  if (required.length === 0) return [];
  const isNull = (c: ColumnInfo) => `(${projection(c, defaults.get(c.name), taggedJson)}) IS NULL`;
  const { rows } = await client.query<{ ord: string; missing: string[] }>(
    `SELECT __ord AS ord, array_remove(ARRAY[${required.map((c) => `CASE WHEN ${isNull(c)} THEN ${quoteLiteral(c.name)} END`).join(', ')}], NULL) AS missing
       FROM ${parsed(raw)} WHERE ${required.map(isNull).join(' OR ')}
      ORDER BY __ord LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) => ({ table: key, row: Number(r.ord), field: r.missing[0], problem: `required field(s) ${r.missing.join(', ')} missing or null` }));
}

async function findDuplicates(
  client: pg.PoolClient,
  source: ReturnType<typeof stagedRows>,
  key: BackupTableKey,
  columns: string[],
): Promise<Problem[]> {
  if (columns.length === 0) return [];
  const fields = columns.map(source.field);
  const { rows } = await client.query<{ rows: string[]; value: string }>(
    `SELECT array_agg(__ord ORDER BY __ord)::text[] AS rows, concat_ws(', ', ${fields.join(', ')}) AS value
       FROM ${source.from} WHERE ${fields.map((f) => `${f} IS NOT NULL`).join(' AND ')}
      GROUP BY ${fields.join(', ')} HAVING count(*) > 1 ORDER BY min(__ord) LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) => ({
    table: key,
    row: Number(r.rows[1]),
    field: columns.join(','),
    problem: `duplicate ${columns.join(', ')} "${r.value}" (also in row ${r.rows[0]})`,
  }));
}

async function findOrphans(client: pg.PoolClient, schema: string, built: BuiltTable[], fk: ConstraintDef): Promise<Problem[]> {
  const child = built.find((b) => b.table === fk.table);
  if (!child || !fk.refTable) return [];
  const parent = built.find((b) => b.table === fk.refTable);
  const parentRef = parent ? staged(schema, parent.table) : publicTable(fk.refTable);
  const source = stagedRows(schema, child.key, child.typed);
  const fields = fk.columns.map(source.field);
  const join = fk.columns.map((_, i) => `p.${quoteIdent(fk.refColumns[i]!)}::text = ${fields[i]}`).join(' AND ');
  const { rows } = await client.query<{ ord: string; value: string }>(
    `SELECT r.__ord AS ord, concat_ws(', ', ${fields.join(', ')}) AS value FROM ${source.from}
      WHERE ${fields.map((f) => `${f} IS NOT NULL`).join(' AND ')}
        AND NOT EXISTS (SELECT 1 FROM ${parentRef} p WHERE ${join})
      ORDER BY r.__ord LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) => ({
    table: child.key,
    row: Number(r.ord),
    field: fk.columns.join(','),
    problem: `refers to ${parent?.key ?? fk.refTable} "${r.value}", which is not in the file`,
  }));
}
