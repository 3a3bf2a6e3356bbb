import type pg from 'pg';
import { z } from 'zod';
import { BACKUP_TABLES, tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { AppError } from '../errors.js';
import { readConstraints } from './keys.js';
import { invalidBackup } from './problems.js';
import { rawTable, typedTable } from './staging-tables.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Every table key a selective restore may name: the tables of the backup format. */
export const RESTORABLE_TABLE_KEYS: readonly BackupTableKey[] = BACKUP_TABLES.map((t) => t.key);

/** What a restore's stored input says about its tables (absent: the whole file). */
export const tableSelectionInputSchema = z.object({
  tables: z.array(z.string()).min(1).optional(),
  withDependencies: z.boolean().default(false),
});
export type TableSelectionInput = z.output<typeof tableSelectionInputSchema>;

/** The tables a selective restore replaces, and which of them the dependency closure added. */
export interface TableSelection {
  /** In file order (parents first). */
  tables: BackupTableKey[];
  /** Tables not asked for that `withDependencies` pulled in (empty without it). */
  addedByDependencies: BackupTableKey[];
}

/**
 * Checks table keys named by a request against the backup format's tables, de-duplicated, in file order.
 * @throws AppError VALIDATION_ERROR naming the unknown keys and listing the valid ones
 */
export function checkTableKeys(keys: readonly string[]): BackupTableKey[] {
  const unknown = keys.filter((k) => !tableByKey(k));
  if (unknown.length > 0) {
    const valid = RESTORABLE_TABLE_KEYS.join(', ');
    throw new AppError(
      'VALIDATION_ERROR',
      `Unknown table(s) ${unknown.map((k) => `"${k}"`).join(', ')}; valid tables: ${valid}`,
      [
        {
          path: 'body.tables',
          message: `unknown table(s) ${unknown.join(', ')}; valid: ${valid}`,
          validTables: RESTORABLE_TABLE_KEYS,
        },
      ],
    );
  }
  return RESTORABLE_TABLE_KEYS.filter((k) => keys.includes(k));
}

/**
 * The tables `keys` need through their foreign keys, transitively (parents of parents), read from
 * the live catalog: loans → unionMembers, loanTypes, users; unionMembers → unions → users; …
 * Only tables of the backup format count (a foreign key to any other table is not the file's to restore).
 */
export async function dependencyClosure(db: Queryable, keys: readonly BackupTableKey[]): Promise<BackupTableKey[]> {
  const byTable = new Map(BACKUP_TABLES.map((t) => [t.table, t.key]));
  const fks = (
    await readConstraints(
      db,
      BACKUP_TABLES.map((t) => t.table),
    )
  ).filter((c) => c.kind === 'f');
  const closure = new Set(keys);
  const queue = [...keys];
  while (queue.length > 0) {
    const table = tableByKey(queue.pop()!)!.table;
    for (const fk of fks.filter((c) => c.table === table && c.refTable && c.refTable !== table)) {
      const parent = byTable.get(fk.refTable!);
      if (parent && !closure.has(parent)) {
        closure.add(parent);
        queue.push(parent);
      }
    }
  }
  return RESTORABLE_TABLE_KEYS.filter((k) => closure.has(k));
}

/** The selection a restore's input asks for (null: the whole file), closure included. */
export async function resolveSelection(db: Queryable, input: TableSelectionInput): Promise<TableSelection | null> {
  if (!input.tables) return null;
  const asked = checkTableKeys(input.tables);
  if (!input.withDependencies) return { tables: asked, addedByDependencies: [] };
  const tables = await dependencyClosure(db, asked);
  return { tables, addedByDependencies: tables.filter((k) => !asked.includes(k)) };
}

/**
 * Once the file is staged: refuses a selection naming a table the file does not hold, then drops the
 * staged rows of every table not selected (they are neither validated nor swapped, and a typed one
 * would otherwise shadow the live table when the restored tables' references are resolved).
 * @throws AppError INVALID_BACKUP_FILE naming the selected tables missing from the file
 */
export async function keepSelectedOnly(
  client: Queryable,
  schema: string,
  inFile: ReadonlyMap<BackupTableKey, number>,
  selection: TableSelection,
): Promise<void> {
  const missing = selection.tables.filter((k) => !inFile.has(k));
  if (missing.length > 0) {
    throw invalidBackup(
      missing.map((k) => ({ table: k, problem: 'this table was asked to be restored, but the file does not hold it' })),
    );
  }
  for (const key of inFile.keys()) {
    if (selection.tables.includes(key)) continue;
    await client.query(`DROP TABLE IF EXISTS ${rawTable(schema, key)}, ${typedTable(schema, key)} CASCADE`);
  }
}

/** Whether a restore of `selection` replaces the users, and so must log everyone out. */
export function changesUsers(selection: TableSelection | null): boolean {
  return !selection || selection.tables.includes('users');
}
