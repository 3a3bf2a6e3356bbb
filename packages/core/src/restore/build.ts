import type pg from 'pg';
import { isJsonColumn, quoteIdent, quoteLiteral, readColumns, type ColumnInfo } from '../backup-format/catalog.js';
import { importJsonExpression } from '../backup-format/json-values.js';
import { tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { AppError } from '../errors.js';
import { invalidBackup, type Problem } from './problems.js';
import { publicTable, readConstraints, readIndexes, type IndexDef } from './keys.js';
import type { StagedFile } from './stage.js';
import { rawTable } from './staging-tables.js';
import {
  checkShape,
  diagnoseCasts,
  diagnoseJson,
  diagnoseNulls,
  findDuplicates,
  findOversized,
  findOrphans,
} from './diagnostics.js';
import { columnNames, parsed, staged } from './staged-sql.js';
import type { BackupMetadata } from '../backup-format/metadata.js';
import { searchSchemaFirst } from '../sql/dialect.js';

/** Tables every backup must hold: without them a restore would break references. */
const REQUIRED: BackupTableKey[] = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments'];

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
 * Checks what the metadata promises against what the file held: schema version known to this
 * database, required tables present, options and counts consistent.
 * @throws AppError UNSUPPORTED_BACKUP_VERSION; INVALID_BACKUP_FILE listing the problems
 */
export function checkStagedFile(file: StagedFile, appliedMigrations: Set<string>): void {
  const meta = file.metadata;
  if (meta.schemaVersion && !appliedMigrations.has(meta.schemaVersion)) {
    throw new AppError(
      'UNSUPPORTED_BACKUP_VERSION',
      `This backup was written by schema version ${meta.schemaVersion}, which this database does not have; ` +
        'upgrade the service (apply its migrations) before restoring it',
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
    if (actual !== expected)
      problems.push({ table: key, problem: `metadata.recordCounts says ${expected} rows, the file has ${actual}` });
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
  const scalar =
    `CASE WHEN jsonb_typeof(doc->${field}) IN ('object', 'array') ` +
    `THEN (doc->${field})::numeric::text ELSE doc->>${field} END`;
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
  return (
    metadata?.app === 'millennium-potters' && !!currentSchemaVersion && metadata.schemaVersion === currentSchemaVersion
  );
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
  /** Every column the index holds, to name a value too large for it. */
  columns: string[];
}

/** A staged table with its rows in place, and what is left to build on it. */
export interface TablePlan {
  built: BuiltTable;
  /** Independent of each other: `CREATE INDEX` takes a SHARE lock, so several run on one table at once. */
  indexes: IndexStep[];
  /** After every index: primary and unique keys attached to their indexes, or added whole. */
  finish: IndexStep[];
}

/**
 * `PRIMARY KEY (…)` / `UNIQUE (…)` with nothing more, which `ADD CONSTRAINT … USING INDEX` reproduces
 * exactly.
 */
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
      indexes.push({ sql: onTarget(ix), unique: c.columns, columns: c.columns });
      finish.push({
        sql: `ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(c.name)} ${kind} USING INDEX ${quoteIdent(c.name)}`,
        unique: [],
        columns: [],
      });
    } else {
      finish.push({
        sql: `ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`,
        unique: c.columns,
        columns: c.columns,
      });
    }
  }
  for (const ix of all.filter((x) => !x.key))
    indexes.push({ sql: onTarget(ix), unique: ix.unique ? ix.columns : [], columns: ix.columns });
  return { built: { key, table, columns, rows, typed: opts.typed }, indexes, finish };
}

/**
 * Runs one index step of `plan`.
 * @throws AppError INVALID_BACKUP_FILE naming duplicated rows when a unique index fails
 */
export async function buildIndex(
  client: pg.PoolClient,
  schema: string,
  plan: TablePlan,
  step: IndexStep,
): Promise<void> {
  try {
    await client.query(step.sql);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 23505: a duplicate in a unique index; 54000: a value too large for an index entry (a 1 MB "id").
    if (code !== '23505' && code !== '54000') throw err;
    const found =
      code === '23505'
        ? await findDuplicates(client, schema, plan.built, step.unique)
        : await findOversized(client, schema, plan.built, step.columns);
    throw invalidBackup(found.length > 0 ? found : [{ table: plan.built.key, problem: (err as Error).message }]);
  }
}

/**
 * Once every index of `plan` is built: attaches its keys. No ANALYZE here: sampling the last and
 * largest tables (the jsonb columns of audit_logs most of all) sat on the restore's critical path
 * (docs/benchmarks.md). A restore gathers the statistics once it completed (`analyzeRestoredTables`).
 */
export async function finishTable(client: pg.PoolClient, schema: string, plan: TablePlan): Promise<BuiltTable> {
  for (const step of plan.finish) await buildIndex(client, schema, plan, step);
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
  await client.query(
    `CREATE TABLE ${target} (LIKE ${publicTable(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)`,
  );
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
    if (found.length === 0)
      found.push(
        ...(await diagnoseNulls(client, raw, key, columns, (c) => projection(c, defaults.get(c.name), taggedJson))),
      );
    throw invalidBackup(
      found.length > 0 ? found : [{ table: key, problem: `a value has the wrong type (${(err as Error).message})` }],
    );
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
    (c) =>
      c.kind === 'f' && names.includes(c.table) && (opts.final || (c.refTable !== null && names.includes(c.refTable))),
  );
  for (const fk of fks) {
    const id = `${fk.table}.${fk.name}`;
    if (opts.claimed.has(id)) continue;
    opts.claimed.add(id);
    await client.query('BEGIN');
    try {
      // Unqualified parent names in the definition resolve to the staged tables first.
      await searchSchemaFirst(client, quoteIdent(schema));
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
