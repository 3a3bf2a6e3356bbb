import { z } from 'zod';
import type pg from 'pg';
import { quoteIdent } from '../../backup-format/catalog.js';
import { BACKUP_TABLES, backupTableKeySchema, tableByKey, type BackupTableKey } from '../../backup-format/tables.js';
import { ENTITY_TABLES, RELATIONS, ownedRelations, type GraphEntityType } from '../../dependencies/graph.js';
import { AppError } from '../../errors.js';
import { publicTable, readIndexes } from '../keys.js';
import type { Problem } from '../problems.js';
import { staged } from '../staged-sql.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** The data tables an entity restore can write (sessions never come back; audit logs are not in the graph). */
export const ENTITY_RESTORE_TABLES: readonly BackupTableKey[] = BACKUP_TABLES.map((t) => t.key).filter(
  (k) => RELATIONS.some((r) => r.child === k || r.parent === k) && k !== 'sessions',
);

/** How many conflicting keys a plan names (the counts are always complete). */
export const MAX_CONFLICTS_LISTED = 20;

/** A row that exists live under the same key with other content: reported, and the live row kept. */
export interface EntityConflict {
  table: BackupTableKey;
  id: string;
  /** The columns whose values differ between the backup and the live row. */
  changedFields: string[];
}

export const entityConflictSchema = z.object({
  table: backupTableKeySchema,
  id: z.string(),
  changedFields: z.array(z.string()),
}) satisfies z.ZodType<EntityConflict>;

export interface TablePlan {
  /** Rows of the subtree (and the parents it needs) found in the file. */
  selected: number;
  /** Missing live: inserted. */
  insert: number;
  /** Live with the same content: skipped. */
  identical: number;
  /** Live with other content: reported, kept. */
  conflicts: number;
}

/** What an entity restore would do, computed on a staged file and the live tables. */
export interface EntityPlan {
  tables: Partial<Record<BackupTableKey, TablePlan>>;
  /** Parents missing live that come back so the inserted rows have something to point at. */
  parents: { table: BackupTableKey; id: string }[];
  /** The first {@link MAX_CONFLICTS_LISTED} conflicts, in table order. */
  conflicts: EntityConflict[];
  /** What prevents a consistent insert (a unique value taken by another live row); empty when none. */
  problems: Problem[];
}

const work = (schema: string) => `${quoteIdent(schema)}.entity_rows`;
const liveName = (key: BackupTableKey) => publicTable(tableByKey(key)!.table);
const stagedName = (schema: string, key: BackupTableKey) => staged(schema, tableByKey(key)!.table);

/**
 * Selects, in the staged `schema`, the rows an entity restore of `entityType`/`entityId` would
 * consider, and classifies each against the live tables. The rows are recorded in
 * `<schema>.entity_rows` (`tbl`, `id`, `via`: entity | child | parent, `state`: insert | identical |
 * conflict), which {@link insertPlannedRows} reads. Steps:
 * 1. the entity's row; none → ENTITY_NOT_IN_BACKUP;
 * 2. everything hanging off it, following the `restrict` relations of the dependency graph down
 *    (union → members → loans → repayments; user → unions, supervisees, loans created or approved …);
 * 3. each row compared with the live row of the same key (all column values): missing, identical, or a conflict;
 * 4. the parents that rows to insert point at and that are missing live, from the file, up to the top;
 * 5. unique values of rows to insert that a live row with another key already holds: problems.
 * Reads the live tables only; writes only in `schema`. Run it again inside the write transaction.
 * @throws AppError ENTITY_NOT_IN_BACKUP
 */
export async function planEntityRestore(
  db: Queryable,
  schema: string,
  entityType: GraphEntityType,
  entityId: string,
): Promise<EntityPlan> {
  const rows = work(schema);
  await db.query(`DROP TABLE IF EXISTS ${rows}`);
  await db.query(
    `CREATE TABLE ${rows} (tbl text NOT NULL, id text NOT NULL, via text NOT NULL, state text, PRIMARY KEY (tbl, id))`,
  );
  const table = ENTITY_TABLES[entityType];
  const seed = await db.query(
    `INSERT INTO ${rows} (tbl, id, via) SELECT $1, id, 'entity' FROM ${stagedName(schema, table)} WHERE id = $2`,
    [table, entityId],
  );
  if (seed.rowCount === 0) {
    throw new AppError(
      'ENTITY_NOT_IN_BACKUP',
      `ENTITY_NOT_IN_BACKUP: the backup holds no ${entityType} with id ${entityId}; nothing was changed`,
      {
        code: 'ENTITY_NOT_IN_BACKUP',
        entityType,
        entityId,
        problems: [
          {
            table,
            problem: `no ${entityType} with id ${entityId} in this backup`,
            message: `data.${table}: no ${entityType} with id ${entityId} in this backup`,
          },
        ],
      },
    );
  }
  await untilStable(() => addChildren(db, schema));
  for (const key of ENTITY_RESTORE_TABLES) await classify(db, schema, key);
  await untilStable(() => addMissingParents(db, schema));
  return summarise(db, schema);
}

/** Repeats `step` (which returns how many rows it added) until it adds none. */
async function untilStable(step: () => Promise<number>): Promise<void> {
  while ((await step()) > 0);
}

async function addChildren(db: Queryable, schema: string): Promise<number> {
  let added = 0;
  for (const key of ENTITY_RESTORE_TABLES) {
    for (const r of ownedRelations(key)) {
      const res = await db.query(
        `INSERT INTO ${work(schema)} (tbl, id, via)
         SELECT $1, c.id, 'child' FROM ${stagedName(schema, r.child)} c
          WHERE c.${quoteIdent(r.column)} IN (SELECT id FROM ${work(schema)} WHERE tbl = $2)
         ON CONFLICT DO NOTHING`,
        [r.child, r.parent],
      );
      added += res.rowCount ?? 0;
    }
  }
  return added;
}

/** Sets `state` of the unclassified rows of `key`: the whole row compared by value with the live row of the same id. */
async function classify(db: Queryable, schema: string, key: BackupTableKey): Promise<void> {
  // The staged table is shaped like the live one (same columns, same order): equal text forms are equal rows.
  await db.query(
    `UPDATE ${work(schema)} w
        SET state = CASE WHEN l.id IS NULL THEN 'insert' WHEN l::text = s::text THEN 'identical' ELSE 'conflict' END
       FROM ${stagedName(schema, key)} s LEFT JOIN ${liveName(key)} l ON l.id = s.id
      WHERE w.tbl = $1 AND w.state IS NULL AND s.id = w.id`,
    [key],
  );
}

/** Adds, as `insert`, the file's rows that rows to insert point at and that are missing live. */
async function addMissingParents(db: Queryable, schema: string): Promise<number> {
  let added = 0;
  for (const r of RELATIONS.filter((x) => ENTITY_RESTORE_TABLES.includes(x.child))) {
    const res = await db.query(
      `INSERT INTO ${work(schema)} (tbl, id, via, state)
       SELECT DISTINCT $1, p.id, 'parent', 'insert'
         FROM ${work(schema)} w
         JOIN ${stagedName(schema, r.child)} c ON c.id = w.id
         JOIN ${stagedName(schema, r.parent)} p ON p.id = c.${quoteIdent(r.column)}
        WHERE w.tbl = $2 AND w.state = 'insert' AND NOT EXISTS (SELECT 1 FROM ${liveName(r.parent)} l WHERE l.id = p.id)
       ON CONFLICT DO NOTHING`,
      [r.parent, r.child],
    );
    added += res.rowCount ?? 0;
  }
  return added;
}

async function summarise(db: Queryable, schema: string): Promise<EntityPlan> {
  const { rows: counts } = await db.query<{ tbl: BackupTableKey; state: string; n: string }>(
    `SELECT tbl, state, count(*) AS n FROM ${work(schema)} GROUP BY tbl, state`,
  );
  const tables: EntityPlan['tables'] = {};
  for (const key of ENTITY_RESTORE_TABLES) {
    const of = (state: string) => Number(counts.find((c) => c.tbl === key && c.state === state)?.n ?? 0);
    const t = { insert: of('insert'), identical: of('identical'), conflicts: of('conflict') };
    if (t.insert + t.identical + t.conflicts > 0)
      tables[key] = { selected: t.insert + t.identical + t.conflicts, ...t };
  }
  const { rows: parents } = await db.query<{ table: BackupTableKey; id: string }>(
    `SELECT tbl AS table, id FROM ${work(schema)} WHERE via = 'parent' ORDER BY tbl, id`,
  );
  const conflicts: EntityConflict[] = [];
  const problems: Problem[] = [];
  for (const key of ENTITY_RESTORE_TABLES) {
    if (tables[key]?.conflicts && conflicts.length < MAX_CONFLICTS_LISTED)
      conflicts.push(...(await listConflicts(db, schema, key, MAX_CONFLICTS_LISTED - conflicts.length)));
    if (tables[key]?.insert) problems.push(...(await findTakenUniqueValues(db, schema, key)));
  }
  return { tables, parents, conflicts, problems };
}

async function listConflicts(
  db: Queryable,
  schema: string,
  key: BackupTableKey,
  limit: number,
): Promise<EntityConflict[]> {
  const { rows } = await db.query<{ id: string; changed: string[] }>(
    `SELECT s.id, ARRAY(SELECT e.key FROM jsonb_each(to_jsonb(s)) e WHERE to_jsonb(l)->e.key IS DISTINCT FROM
      e.value ORDER BY e.key) AS changed
       FROM ${work(schema)} w JOIN ${stagedName(schema, key)} s ON s.id = w.id JOIN ${liveName(key)} l ON l.id = s.id
      WHERE w.tbl = $1 AND w.state = 'conflict' ORDER BY s.id LIMIT $2`,
    [key, limit],
  );
  return rows.map((r) => ({ table: key, id: r.id, changedFields: r.changed }));
}

/**
 * Rows to insert whose unique value (username, email, union name, loan number, …) a live row with
 * another id holds: inserting them would fail, and skipping them would leave their children pointing
 * at nothing. Values are not quoted (they can be personal data); the ids say where to look.
 */
async function findTakenUniqueValues(db: Queryable, schema: string, key: BackupTableKey): Promise<Problem[]> {
  const problems: Problem[] = [];
  const uniques = (await readIndexes(db, tableByKey(key)!.table)).filter(
    (ix) => ix.unique && !(ix.columns.length === 1 && ix.columns[0] === 'id'),
  );
  for (const ix of uniques) {
    const same = ix.columns.map((c) => `l.${quoteIdent(c)} = s.${quoteIdent(c)}`).join(' AND ');
    const { rows } = await db.query<{ id: string; live: string }>(
      `SELECT s.id, l.id AS live FROM ${work(schema)} w JOIN ${stagedName(schema, key)} s ON s.id = w.id
         JOIN ${liveName(key)} l ON ${same} AND l.id <> s.id
        WHERE w.tbl = $1 AND w.state = 'insert' ORDER BY s.id LIMIT 20`,
      [key],
    );
    for (const r of rows) {
      problems.push({
        table: key,
        field: ix.columns.join(', '),
        problem: `row ${r.id} cannot come back: live row ${r.live} already has the same ${ix.columns.join(', ')}`,
      });
    }
  }
  return problems;
}

/**
 * Inserts the rows {@link planEntityRestore} marked `insert`, parents first (the order of the
 * backup's tables; a user and the supervisor it points at go in one statement, so their order does
 * not matter). Never touches a live row. Returns the rows inserted per table.
 */
export async function insertPlannedRows(
  db: Queryable,
  schema: string,
): Promise<Partial<Record<BackupTableKey, number>>> {
  const inserted: Partial<Record<BackupTableKey, number>> = {};
  for (const key of ENTITY_RESTORE_TABLES) {
    const { rows: cols } = await db.query<{ list: string }>(
      `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS list FROM pg_attribute
        WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
      [liveName(key)],
    );
    const list = cols[0]!.list;
    const res = await db.query(
      `INSERT INTO ${liveName(key)} (${list})
       SELECT ${list} FROM ${stagedName(schema, key)} WHERE id IN (SELECT id FROM ${work(schema)} WHERE tbl = $1
         AND state = 'insert')`,
      [key],
    );
    if (res.rowCount) inserted[key] = res.rowCount;
  }
  return inserted;
}
