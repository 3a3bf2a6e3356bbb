import type pg from 'pg';
import { isJsonColumn, quoteIdent, quoteLiteral, type ColumnInfo } from '../backup-format/catalog.js';
import type { BackupTableKey } from '../backup-format/tables.js';
import { MAX_PROBLEMS, type Problem } from './problems.js';
import { publicTable, type ConstraintDef } from './keys.js';
import { rawTable, typedTable } from './staging-tables.js';
import { columnNames, parsed, staged } from './staged-sql.js';

// Run only after a statement of the build failed: they find the rows at fault and say what is wrong
// with each, so a person can fix the file. A file without problems pays nothing for them.

/** Rows reported per check: the first ones are what a person needs. */
const PER_CHECK = 5;

/** A staged table as the diagnostics need it (a `BuiltTable` is one). */
export interface StagedTable {
  key: BackupTableKey;
  table: string;
  /** Loaded typed by the stage: no raw rows, so the typed table is read instead. */
  typed: boolean;
}

/**
 * The staged rows of a table for diagnostics, as relation `r` with `r.__ord` (the row's index in
 * the file) and each field as text: from the raw JSON rows, or from a typed table, whose physical
 * order is the file's order (loaded by one COPY into a new table).
 */
function stagedRows(
  schema: string,
  key: BackupTableKey,
  typed: boolean,
): { from: string; field: (column: string) => string } {
  if (typed) {
    return {
      from: `(SELECT row_number() OVER (ORDER BY ctid) - 1 AS __ord, t.* FROM ${typedTable(schema, key)} t) AS r`,
      field: (column) => `r.${quoteIdent(column)}::text`,
    };
  }
  return { from: parsed(rawTable(schema, key)), field: (column) => `r.doc->>${quoteLiteral(column)}` };
}

/** Rows that are not objects, and fields no column has (a typo, or a file from another product). */
export async function checkShape(
  client: pg.PoolClient,
  raw: string,
  key: BackupTableKey,
  columns: ColumnInfo[],
): Promise<Problem[]> {
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
      ? {
          table: key,
          row: Number(r.ord),
          problem: `a row must be an object, this is ${r.kind === 'array' ? 'an array' : `a ${r.kind}`}`,
        }
      : {
          table: key,
          row: Number(r.ord),
          field: r.extra?.[0],
          problem: `unknown field(s) ${r.extra?.map((f) => `"${f}"`).join(', ')}`,
        },
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
  typeof v === 'string'
    ? v.includes('\0')
    : !!v && typeof v === 'object' && Object.entries(v).some(([k, x]) => k.includes('\0') || holdsNul(x));

/**
 * Rows PostgreSQL cannot read as jsonb (only run after a conversion failed): not JSON at all, or JSON
 * holding the NUL character `\u0000`, which PostgreSQL text (and so jsonb) cannot hold. Its own JSON
 * functions refuse such a row too, so the field at fault is found here, in rows of reasonable size.
 */
export async function diagnoseJson(
  client: pg.PoolClient,
  schema: string,
  raw: string,
  key: BackupTableKey,
): Promise<Problem[]> {
  const castable = await castableFunction(client, schema);
  const { rows } = await client.query<{ ord: string; head: string; nul: boolean; doc: string | null }>(
    `SELECT __ord AS ord, left(doc, 60) AS head, nul, CASE WHEN nul AND length(doc) <= ${NUL_ROW_CHARS} THEN doc
      END AS doc
       FROM (SELECT __ord, doc, ${castable}(doc, 'json') AND doc ~ $1 AS nul FROM ${raw} WHERE NOT ${castable}(doc,
         'jsonb')
              ORDER BY __ord LIMIT ${PER_CHECK}) r
      ORDER BY __ord`,
    [NUL_ESCAPE],
  );
  return rows.map((r) => {
    if (!r.nul) return { table: key, row: Number(r.ord), problem: `not valid JSON: ${JSON.stringify(r.head)}` };
    return {
      table: key,
      row: Number(r.ord),
      field: r.doc ? nulField(r.doc) : undefined,
      problem: 'holds a NUL character (\\u0000), which PostgreSQL cannot store',
    };
  });
}

/**
 * The top-level field of a JSON object row that holds a NUL; undefined when it cannot be told (too deep, not an
 * object).
 */
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
export async function diagnoseCasts(
  client: pg.PoolClient,
  schema: string,
  raw: string,
  key: BackupTableKey,
  columns: ColumnInfo[],
): Promise<Problem[]> {
  const castable = await castableFunction(client, schema);
  const problems: Problem[] = [];
  for (const c of columns) {
    if (isJsonColumn(c)) continue;
    const field = quoteLiteral(c.name);
    const { rows } = await client.query<{ ord: string; value: string | null }>(
      `SELECT __ord AS ord, doc->>${field} AS value FROM ${parsed(raw)}
        WHERE doc ? ${field} AND doc->${field} <> 'null'::jsonb
          AND (jsonb_typeof(doc->${field}) IN ('object', 'array') OR
            NOT ${castable}(doc->>${field}, ${quoteLiteral(c.type)}))
        ORDER BY __ord LIMIT ${PER_CHECK}`,
    );
    for (const r of rows) {
      const shown = r.value && r.value.length > 60 ? `${r.value.slice(0, 60)}…` : r.value;
      problems.push({
        table: key,
        row: Number(r.ord),
        field: c.name,
        problem: `${JSON.stringify(shown)} is not a valid ${c.type}`,
      });
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  return problems;
}

/**
 * Rows that leave a required column empty (missing, or null, with no default to fall back on).
 * `convert` is the SQL the conversion used for a column, so the check finds exactly what it produced.
 */
export async function diagnoseNulls(
  client: pg.PoolClient,
  raw: string,
  key: BackupTableKey,
  columns: ColumnInfo[],
  convert: (c: ColumnInfo) => string,
): Promise<Problem[]> {
  const required = columns.filter((c) => c.notNull);
  if (required.length === 0) return [];
  const isNull = (c: ColumnInfo) => `(${convert(c)}) IS NULL`;
  const { rows } = await client.query<{ ord: string; missing: string[] }>(
    `SELECT __ord AS ord, array_remove(ARRAY[${required
      .map((c) => `CASE WHEN ${isNull(c)} THEN ` + `${quoteLiteral(c.name)} END`)
      .join(', ')}], NULL) AS missing
       FROM ${parsed(raw)} WHERE ${required.map(isNull).join(' OR ')}
      ORDER BY __ord LIMIT ${PER_CHECK}`,
  );
  return rows.map((r) => ({
    table: key,
    row: Number(r.ord),
    field: r.missing[0],
    problem: `required field(s) ${r.missing.join(', ')} missing or null`,
  }));
}

/** Rows that share the value of a unique key's `columns` (only run after its index failed). */
export async function findDuplicates(
  client: pg.PoolClient,
  schema: string,
  table: StagedTable,
  columns: string[],
): Promise<Problem[]> {
  if (columns.length === 0) return [];
  const { key } = table;
  const source = stagedRows(schema, key, table.typed);
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

/** An index entry must fit in a third of a page; values this long cannot be keys or indexed fields. */
const MAX_INDEXED_BYTES = 2000;

/** Rows whose value in one of `columns` is too large to be indexed (only run after an index failed with 54000). */
export async function findOversized(
  client: pg.PoolClient,
  schema: string,
  table: StagedTable,
  columns: string[],
): Promise<Problem[]> {
  const { key } = table;
  const source = stagedRows(schema, key, table.typed);
  const problems: Problem[] = [];
  for (const column of columns) {
    const field = source.field(column);
    const { rows } = await client.query<{ ord: string; bytes: number }>(
      `SELECT __ord AS ord, octet_length(${field}) AS bytes FROM ${source.from}
        WHERE octet_length(${field}) > ${MAX_INDEXED_BYTES} ORDER BY __ord LIMIT ${PER_CHECK}`,
    );
    for (const r of rows) {
      problems.push({
        table: key,
        row: Number(r.ord),
        field: column,
        problem: `is ${r.bytes} bytes long, too long to be indexed (at most ${MAX_INDEXED_BYTES})`,
      });
    }
  }
  return problems.slice(0, MAX_PROBLEMS);
}

/**
 * Rows of the child of `fk` whose reference is in neither its staged parent (when among `built`) nor,
 * for a parent not in the file, the live table (only run after adding the key failed).
 */
export async function findOrphans(
  client: pg.PoolClient,
  schema: string,
  built: StagedTable[],
  fk: ConstraintDef,
): Promise<Problem[]> {
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
