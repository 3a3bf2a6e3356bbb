import type pg from 'pg';
import { quoteIdent } from '../backup-format/catalog.js';
import { BACKUP_TABLES, type BackupTableKey } from '../backup-format/tables.js';
import { AppError } from '../errors.js';
import { MAX_PROBLEMS, type ReportedProblem } from './problems.js';
import { publicTable, readConstraints, type ConstraintDef } from './keys.js';
import { staged } from './staged-sql.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Keys quoted per broken reference, for the operator to look up. */
const EXAMPLES = 3;

/** A foreign key that the restore would leave pointing at nothing, counted. */
export interface BrokenReference {
  /** `restored`: rows of a restored table point at live rows of a table not restored that are missing.
   *  `live`: live rows of a table not restored point at rows the restore would remove. */
  direction: 'restored' | 'live';
  /** Child table (backup key when it has one) and its referencing columns. */
  table: string;
  columns: string[];
  /** Parent table (backup key when it has one). */
  refTable: string;
  count: number;
  /** The first few missing parent keys. */
  examples: string[];
  /** The sentence a person reads. */
  message: string;
}

const keyOf = (table: string) => BACKUP_TABLES.find((t) => t.table === table)?.key ?? table;

/**
 * Checks, before anything live changes, the foreign keys that cross between the restored tables
 * (staged in `schema` under their live names, keyed) and the tables left as they are, both ways:
 * - rows of a restored table that point at a row of a table not restored that is missing live;
 * - live rows of a table not restored that point at a row of a restored table missing from the file
 *   (it would vanish). `sessions` → `users` is left out when the restore logs everyone out anyway.
 * Reads only. Returns every broken foreign key with its count and first examples; empty when none.
 */
export async function findBrokenReferences(
  db: Queryable,
  schema: string,
  restored: ReadonlyArray<{ key: BackupTableKey; table: string }>,
  opts: { sessionsCleared: boolean },
): Promise<BrokenReference[]> {
  const names = restored.map((t) => t.table);
  const fks = (await readConstraints(db, names)).filter(
    (c) => c.kind === 'f' && c.refTable !== null && names.includes(c.table) !== names.includes(c.refTable),
  );
  const broken: BrokenReference[] = [];
  for (const fk of fks) {
    const fromRestored = names.includes(fk.table);
    if (!fromRestored && fk.table === 'sessions' && opts.sessionsCleared) continue;
    const child = fromRestored ? staged(schema, fk.table) : publicTable(fk.table);
    const parent = fromRestored ? publicTable(fk.refTable!) : staged(schema, fk.refTable!);
    const found = await countOrphans(db, fk, child, parent);
    if (found.count > 0) broken.push(describe(fk, fromRestored ? 'restored' : 'live', found));
  }
  return broken;
}

async function countOrphans(
  db: Queryable,
  fk: ConstraintDef,
  child: string,
  parent: string,
): Promise<{ count: number; examples: string[] }> {
  const cols = fk.columns.map((c) => `c.${quoteIdent(c)}`);
  const join = fk.columns.map((c, i) => `p.${quoteIdent(fk.refColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
  const { rows } = await db.query<{ count: string; examples: string[] | null }>(
    `WITH o AS (
       SELECT concat_ws(', ', ${cols.join(', ')}) AS k FROM ${child} c
        WHERE ${cols.map((c) => `${c} IS NOT NULL`).join(' AND ')}
          AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${join}))
     SELECT count(*) AS count, (SELECT array_agg(k) FROM (SELECT DISTINCT k FROM o ORDER BY k LIMIT ${EXAMPLES}) e)
       AS examples FROM o`,
  );
  return { count: Number(rows[0]?.count ?? 0), examples: rows[0]?.examples ?? [] };
}

function describe(
  fk: ConstraintDef,
  direction: 'restored' | 'live',
  found: { count: number; examples: string[] },
): BrokenReference {
  const table = keyOf(fk.table);
  const refTable = keyOf(fk.refTable!);
  const rows = `${found.count} ${found.count === 1 ? 'row' : 'rows'}`;
  const point = found.count === 1 ? 'points' : 'point';
  const what =
    direction === 'restored'
      ? `${rows} of ${table} in the file ${point} at ${refTable} missing live (${refTable} is not restored)`
      : `${rows} of live ${table} ${point} at ${refTable} missing from the file (they would vanish)`;
  const message = `${table}.${fk.columns.join(',')} → ${refTable}: ${what}, e.g. ${found.examples.join('; ')}`;
  return { direction, table, columns: fk.columns, refTable, count: found.count, examples: found.examples, message };
}

/**
 * The refusal of a restore that would break references: one line, and the list in `details.problems`
 * (the shape of `INVALID_BACKUP_FILE`'s, so the job status shows them the same way).
 */
export function wouldBreakReferences(broken: BrokenReference[]): AppError {
  const problems: ReportedProblem[] = broken.slice(0, MAX_PROBLEMS).map((b) => ({
    table: b.table,
    field: b.columns.join(','),
    problem: b.message,
    message: b.message,
  }));
  const count = broken.length === 1 ? '1 problem:' : `${broken.length} problems, first:`;
  return new AppError(
    'RESTORE_WOULD_BREAK_REFERENCES',
    `The restore would break references between tables; nothing was changed: ${count} ${
      broken[0]?.message ?? 'no ' + 'details'
    }. ${remedies(broken)}`,
    { problems, brokenReferences: broken.map(({ message: _m, ...rest }) => rest) },
  );
}

/**
 * What the operator can do, by direction: restored rows that need missing parents are helped by restoring the
 * parents too (`withDependencies` adds every one); live rows that would lose their parent are not (it adds
 * parents, never children), only by restoring their own table too or changing them first.
 */
function remedies(broken: BrokenReference[]): string {
  const names = (direction: BrokenReference['direction'], pick: (b: BrokenReference) => string) =>
    [...new Set(broken.filter((b) => b.direction === direction).map(pick))].join(', ');
  const parents = names('restored', (b) => b.refTable);
  const children = names('live', (b) => b.table);
  const out: string[] = [];
  // Plain words, no JSON: the console shows this sentence as it is.
  if (parents)
    out.push(`For rows of the file that need ${parents}: restore ${parents} too, or turn on withDependencies`);
  if (children)
    out.push(
      `For live ${children} that would point at nothing: restore ${children} too (from the same file), or change ` +
        'or delete those live rows first',
    );
  return out.join('. ');
}
