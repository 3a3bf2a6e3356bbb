import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPgPool, createPrismaClient, type PgPool, type Prisma, type PrismaClient } from '@mp/db';

export interface TestDatabase {
  /** Connection URL of the fresh database. */
  url: string;
  name: string;
  prisma: PrismaClient;
  pool: PgPool;
  /** Disconnects both clients and drops the database (sessions ended first). */
  drop(): Promise<void>;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is not set: run the tests through \`npm test\`, which provisions PostgreSQL`);
  return value;
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates `t_<random>` as a copy of the migrated template database (the database named in `templateUrl`,
 * `mp_test` under `npm test`), in milliseconds instead of running migrations.
 * Defaults: `TEST_ADMIN_DATABASE_URL` (a superuser URL) and `DATABASE_URL` (the template) from the environment.
 * Trap: PostgreSQL refuses to copy a template somebody is connected to; nothing may connect to the template
 * itself, and concurrent copies are retried.
 */
export async function createTestDatabase(
  opts: { adminUrl?: string; templateUrl?: string; poolMax?: number } = {},
): Promise<TestDatabase> {
  const adminUrl = opts.adminUrl ?? required(process.env.TEST_ADMIN_DATABASE_URL, 'TEST_ADMIN_DATABASE_URL');
  const templateUrl = new URL(opts.templateUrl ?? required(process.env.DATABASE_URL, 'DATABASE_URL'));
  const template = decodeURIComponent(templateUrl.pathname.slice(1));
  const name = `t_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`);
        return;
      } catch (err) {
        // 55006: the template is in use (another copy is being made right now).
        if ((err as { code?: string }).code !== '55006' || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
      }
    }
  });
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  const prisma = createPrismaClient(url.toString(), { max: opts.poolMax ?? 5 });
  const pool = createPgPool(url.toString(), { max: opts.poolMax ?? 5, applicationName: 'mp-test' });
  let dropped = false;
  return {
    url: url.toString(),
    name,
    prisma,
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
    },
  };
}

/** Empties every table except `_prisma_migrations` (identities restarted), in one statement. */
export async function resetDatabase(pool: PgPool): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> ` +
      `'_prisma_migrations'`,
  );
  if (rows.length === 0) return;
  await pool.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')} RESTART IDENTITY CASCADE`);
}

/**
 * A `manual` backup record waiting to run, as the API creates one (`filename` from its id), for tests that run
 * `runBackup` themselves; returns its id. `options` as stored on the record (what to include, compression).
 */
export async function createBackupRecord(
  prisma: PrismaClient,
  opts: { location?: 'local' | 'cloud' | 'both'; options?: Record<string, unknown> } = {},
): Promise<string> {
  const id = randomUUID();
  await prisma.backupRecord.create({
    data: {
      id,
      filename: `backup_${id}.json`,
      type: 'manual',
      location: opts.location ?? 'local',
      options: (opts.options ?? { includeAuditLogs: false, includeSessions: false }) as Prisma.InputJsonObject,
    },
  });
  return id;
}
