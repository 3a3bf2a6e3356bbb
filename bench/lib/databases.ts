import path from 'node:path';
import pg from 'pg';
import { countsForScale, DOMAIN_TABLES, seedDemoData, type SeedCounts } from '@mp/db';
import { hashPassword } from '@mp/core';
import { repoRoot, runChecked } from './processes.js';

/** Empty, migrated database the bench copies its databases from (migrated again at every run: a no-op when current). */
export const SCHEMA_DB = 'mp_bench_schema';
export const BENCH_ADMIN = 'bench_admin';

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The database `url` names (the inverse of {@link withDatabase}). */
export const databaseOf = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1));

/** Opens one client on `url`, runs `fn`, always closes it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Name of the cached bench database for `scale`: `mp_bench_s1000`, `mp_bench_s0_02`. */
export function benchDatabaseName(scale: number): string {
  return `mp_bench_s${String(scale).replace(/[^0-9a-zA-Z]/g, '_')}`;
}

export async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withClient(
    adminUrl,
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
}

/** Creates `name` as a file copy of `template` (nobody may be connected to `template`). Replaces an existing `name`. */
export async function copyDatabase(adminUrl: string, template: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    // FILE_COPY: one checkpoint and a file copy, much faster than WAL-logging a gigabyte.
    await c.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)} STRATEGY = FILE_COPY`);
  });
}

/** Creates `name` with no table at all (what pg_restore expects), replacing an existing one. */
export async function createEmptyDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${ident(name)} TEMPLATE template0 ENCODING 'UTF8'`);
  });
}

async function appliedMigrations(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ names: string | null }>(
      `SELECT string_agg(migration_name, ',' ORDER BY migration_name) AS names FROM _prisma_migrations WHERE ` +
        `finished_at IS NOT NULL`,
    );
    return rows[0]?.names ?? '';
  }).catch(() => '');
}

/** Creates (when missing) and migrates the schema template; returns its applied migrations. */
export async function ensureSchemaTemplate(adminUrl: string): Promise<string> {
  if (!(await databaseExists(adminUrl, SCHEMA_DB)))
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${ident(SCHEMA_DB)}`));
  const url = withDatabase(adminUrl, SCHEMA_DB);
  await runChecked(path.join(repoRoot, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    env: { ...process.env, DATABASE_URL: url },
  });
  return appliedMigrations(url);
}

/** Rows per domain table. */
export async function countRows(url: string): Promise<SeedCounts> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<Record<string, string>>(
      `SELECT ${DOMAIN_TABLES.map((t) => `(SELECT count(*) FROM ${ident(t)}) AS ${ident(t)}`).join(', ')}`,
    );
    return Object.fromEntries(DOMAIN_TABLES.map((t) => [t, Number(rows[0]![t])])) as SeedCounts;
  });
}

/** The cache is good when the schema matches and every table has the seeder's count (users: plus the bench admin). */
function matchesScale(counts: SeedCounts, expected: SeedCounts): boolean {
  return DOMAIN_TABLES.every((t) =>
    t === 'users' ? counts[t] - expected[t] === 0 || counts[t] - expected[t] === 1 : counts[t] === expected[t],
  );
}

export interface BenchDatabase {
  name: string;
  url: string;
  counts: SeedCounts;
  totalRows: number;
  /** Seconds spent seeding, or null when the cached database was reused. */
  seededInS: number | null;
}

/**
 * The database `mp_bench_s<scale>`, reused when its schema and row counts are what the seeder makes for
 * `scale`; otherwise recreated from the schema template and seeded (seed 1). Bench leftovers (the bench
 * admin's sessions and records) are removed first so they never invalidate the cache.
 */
export async function ensureBenchDatabase(
  adminUrl: string,
  scale: number,
  migrations: string,
  log: (m: string) => void,
): Promise<BenchDatabase> {
  const name = benchDatabaseName(scale);
  const url = withDatabase(adminUrl, name);
  const expected = countsForScale(scale);
  if (await databaseExists(adminUrl, name)) {
    await cleanBenchLeftovers(url).catch(() => {});
    const counts = await countRows(url).catch(() => null);
    if (counts && matchesScale(counts, expected) && (await appliedMigrations(url)) === migrations) {
      log(`reusing ${name} (${total(counts).toLocaleString('en')} rows)`);
      return { name, url, counts, totalRows: total(counts), seededInS: null };
    }
    log(`${name} does not have the expected schema or counts: rebuilding it`);
  }
  await copyDatabase(adminUrl, SCHEMA_DB, name);
  log(`seeding ${name} (scale ${scale})`);
  const started = performance.now();
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    application_name: 'mp-bench-seed',
    options: '-c TimeZone=UTC',
  });
  pool.on('error', () => {});
  try {
    await seedDemoData({ pool }, { scale, seed: 1 });
  } finally {
    await pool.end();
  }
  const seededInS = (performance.now() - started) / 1000;
  const counts = await countRows(url);
  log(`seeded ${name}: ${total(counts).toLocaleString('en')} rows in ${seededInS.toFixed(1)} s`);
  return { name, url, counts, totalRows: total(counts), seededInS };
}

const total = (counts: SeedCounts) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Inserts (or re-keys) the bench's ADMIN user with `password`; seeded users cannot log in. */
export async function upsertBenchAdmin(url: string, password: string): Promise<void> {
  const hash = await hashPassword(password);
  await withClient(url, (c) =>
    c.query(
      `INSERT INTO users (id, username, email, "passwordHash", "firstName", "lastName", role, "isActive", "updatedAt")
       VALUES (gen_random_uuid()::text, $1, $2, $3, 'Bench', 'Admin', 'ADMIN', true, now())
       ON CONFLICT (username) DO UPDATE SET "passwordHash" = EXCLUDED."passwordHash", "isActive" = true, role =
         'ADMIN'`,
      [BENCH_ADMIN, `${BENCH_ADMIN}@bench.invalid`, hash],
    ),
  );
}

/**
 * Removes what the bench added besides its admin: its sessions, backup records and operations, and maintenance state.
 */
export async function cleanBenchLeftovers(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(`DELETE FROM sessions WHERE "userId" IN (SELECT id FROM users WHERE username = $1)`, [BENCH_ADMIN]);
    await c.query(`DELETE FROM backup_records WHERE "createdBy" = $1`, [BENCH_ADMIN]);
    await c.query(`DELETE FROM operations WHERE "createdBy" = $1`, [BENCH_ADMIN]);
  });
}
