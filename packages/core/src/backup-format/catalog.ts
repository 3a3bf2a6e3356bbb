import type { SqlRunner } from '../sql/dialect.js';

export interface ColumnInfo {
  name: string;
  /** `format_type` of the column, e.g. `numeric(14,2)`, `timestamp(6) with time zone`, `"Role"`. */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

/** json and jsonb columns: a value is JSON text, where other columns take a string's content. */
export const isJsonColumn = (column: Pick<ColumnInfo, 'type'>): boolean =>
  column.type === 'json' || column.type === 'jsonb';

/** Columns of `<schema>.<table>` (default `public`) in their physical order, read from the catalog. */
export async function readColumns(db: SqlRunner, table: string, schema = 'public'): Promise<ColumnInfo[]> {
  const { rows } = await db.query<ColumnInfo>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", a.atthasdef AS "hasDefault"
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  if (rows.length === 0) throw new Error(`Table ${schema}.${table} does not exist`);
  return rows;
}

/**
 * The newest applied migration, written into every backup as `schemaVersion`; null when the
 * database was not created by migrations.
 */
export async function readSchemaVersion(db: SqlRunner): Promise<string | null> {
  const exists = await db.query<{ ok: boolean }>(`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await db.query<{ name: string }>(
    `SELECT migration_name AS name FROM _prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
      ORDER BY migration_name DESC LIMIT 1`,
  );
  return rows[0]?.name ?? null;
}

/** Names of every migration applied to this database. */
export async function readAppliedMigrations(db: SqlRunner): Promise<Set<string>> {
  const exists = await db.query<{ ok: boolean }>(`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return new Set();
  const { rows } = await db.query<{ name: string }>(
    `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return new Set(rows.map((r) => r.name));
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
