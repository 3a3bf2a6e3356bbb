import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../backup-format/catalog.js';
import { AppError } from '../errors.js';
import { tryLockForSession, unlockForSession } from '../sql/dialect.js';

/** Scratch databases of drills are named `mp_drill_<operation id, 16 hex>`, so a crashed one can be found. */
export const DRILL_DATABASE_PREFIX = 'mp_drill_';
/**
 * First key of the two-key advisory lock a worker holds (on a live-database connection) for as long as
 * its drill's scratch database exists; the second key is `hashtext(<database name>)`. A scratch
 * database whose lock is free belongs to no running drill.
 */
export const DRILL_LOCK_CLASS = 0x6d70_6472;

/** The scratch database name of drill operation `operationId`. */
export function drillDatabaseName(operationId: string): string {
  return `${DRILL_DATABASE_PREFIX}${operationId.replaceAll('-', '').slice(0, 16).toLowerCase()}`;
}

/** `databaseUrl` pointing at database `name` on the same server, same role. */
export function databaseUrlFor(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/**
 * Takes the drill lock of scratch database `name` on `client` (session level: it dies with the connection,
 * so a killed worker never leaves it held). Returns false when another session holds it.
 */
export async function tryDrillLock(client: pg.ClientBase, name: string): Promise<boolean> {
  return tryLockForSession(client, [DRILL_LOCK_CLASS, name]);
}

export async function releaseDrillLock(client: pg.ClientBase, name: string): Promise<void> {
  await unlockForSession(client, [DRILL_LOCK_CLASS, name]);
}

/**
 * Creates the empty scratch database `name` on the server `client` is connected to (dropping a leftover
 * of the same name first). The role needs the CREATEDB right (or superuser).
 * @throws AppError DRILL_NOT_PERMITTED when the role may not create databases
 */
export async function createScratchDatabase(client: pg.ClientBase, name: string): Promise<void> {
  const { rows } = await client.query<{ role: string; ok: boolean }>(
    `SELECT current_user AS role, (rolcreatedb OR rolsuper) AS ok FROM pg_roles WHERE rolname = current_user`,
  );
  if (!rows[0]?.ok) throw notPermitted(rows[0]?.role ?? 'the database role');
  await dropScratchDatabase(client, name);
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    // 42501: insufficient privilege (the right was revoked between the check and the statement).
    if ((err as { code?: string }).code === '42501') throw notPermitted(rows[0].role);
    throw err;
  }
  // Advisory locks are per database: the comment ties the scratch database to the live one whose
  // workers judge its lock, so a worker of another database on the same server leaves it alone.
  const owner = await client.query<{ db: string }>('SELECT current_database() AS db');
  await client.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(scratchComment(owner.rows[0]!.db))}`);
}

/** The comment a drill's scratch database carries: which live database's drill it is. */
export function scratchComment(liveDatabase: string): string {
  return `restore drill of ${liveDatabase}`;
}

function notPermitted(role: string): AppError {
  return new AppError(
    'DRILL_NOT_PERMITTED',
    `A restore drill needs a scratch database, but role "${role}" may not create databases: grant it with ALTER ` +
      `ROLE ${quoteIdent(role)} CREATEDB`,
  );
}

/** Drops scratch database `name` if it exists, ending its connections first. Refuses any other name. */
export async function dropScratchDatabase(client: pg.ClientBase, name: string): Promise<void> {
  if (!name.startsWith(DRILL_DATABASE_PREFIX))
    throw new Error(`Refusing to drop ${name}: not a drill's scratch database`);
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Gives an empty database the schema: every `<migrationsDir>/<name>/migration.sql` in name (timestamp)
 * order, each in its own transaction, plus the `_prisma_migrations` rows Prisma would write, so the
 * restore's schema-version checks see the same applied migrations as on a migrated database.
 * Returns the names applied.
 * @throws Error naming the migration folder when it holds no migration
 */
export async function applyMigrations(pool: pg.Pool, migrationsDir: string): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: { name: string; sql: string }[] = [];
  for (const name of names) {
    const sql = await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8').catch(() => null);
    if (sql !== null) migrations.push({ name, sql });
  }
  if (migrations.length === 0)
    throw new Error(
      `No migrations found in ${path.resolve(migrationsDir)} (DRILL_MIGRATIONS_DIR): the scratch database cannot ` +
        `get the schema`,
    );
  const client = await pool.connect();
  try {
    await client.query(`CREATE TABLE "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
    for (const m of migrations) {
      await client.query('BEGIN');
      await client.query(m.sql);
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ` +
          `($1, $2, now(), $3, 1)`,
        [randomUUID(), createHash('sha256').update(m.sql).digest('hex'), m.name],
      );
      await client.query('COMMIT');
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  return migrations.map((m) => m.name);
}
