// The committed migrations against the stock Prisma CLI (through the offline engine stand-in in
// tools/prisma-engine): they apply to an empty database, and they match prisma/schema.prisma.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const migrationsDir = path.join(repoRoot, 'prisma/migrations');
const schemaPath = path.join(repoRoot, 'prisma/schema.prisma');
// The CLI's own entry point: what `npx prisma` runs, without npm's start-up cost and warnings.
const prismaCli = path.join(
  path.dirname(createRequire(import.meta.url).resolve('prisma/package.json')),
  'build/index.js',
);

const CLI_TIMEOUT_MS = 60_000;
// `npm test` provides an admin URL next to the migrated template; a bare DATABASE_URL must allow CREATE DATABASE.
const adminUrl = process.env.TEST_ADMIN_DATABASE_URL ?? process.env.DATABASE_URL;

interface CliResult {
  code: number | null;
  output: string;
}

/** Runs the Prisma CLI in the repo root against `databaseUrl`; never rejects on a non-zero exit. */
function runPrisma(args: string[], databaseUrl: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: CLI_TIMEOUT_MS,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function databaseUrlFor(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.href;
}

async function onAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function listMigrations(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Table names from the schema's `@@map("…")`; every model here maps its table. */
async function expectedTables(): Promise<string[]> {
  const schema = await readFile(schemaPath, 'utf8');
  return [...schema.matchAll(/@@map\("([^"]+)"\)/g)].map((match) => match[1] ?? '').sort();
}

describe('prisma migrations', () => {
  const database = `mp_migrations_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let databaseUrl = '';
  let tempDir = '';

  beforeAll(async () => {
    if (!adminUrl)
      throw new Error('Set TEST_ADMIN_DATABASE_URL or DATABASE_URL to a server where databases can be created.');
    databaseUrl = databaseUrlFor(adminUrl, database);
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'mp-migrations-'));
    await onAdmin((client) => client.query(`CREATE DATABASE "${database}"`));
  });

  afterAll(async () => {
    await onAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    await rm(tempDir, { recursive: true, force: true });
  });

  it('has a PostgreSQL lock file and one migration.sql per migration', async () => {
    expect(await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8')).toMatch(
      /^provider = "postgresql"$/m,
    );
    const migrations = await listMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    for (const name of migrations) {
      await expect(readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8')).resolves.not.toBe('');
    }
  });

  it(
    'applies every migration to an empty database with `migrate deploy`',
    async () => {
      const result = await runPrisma(['migrate', 'deploy'], databaseUrl);
      expect(result.code, result.output).toBe(0);

      const migrations = await listMigrations();
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{
          migration_name: string;
          checksum: string;
          finished: boolean;
          rolled_back: boolean;
        }>(
          `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS
            rolled_back
         FROM _prisma_migrations ORDER BY migration_name`,
        );
        expect(rows.map((row) => row.migration_name)).toEqual(migrations);
        for (const row of rows) {
          // Prisma's checksum is the sha256 of migration.sql; a mismatch makes `migrate dev` ask for a reset.
          const sql = await readFile(path.join(migrationsDir, row.migration_name, 'migration.sql'));
          expect(row).toMatchObject({
            checksum: createHash('sha256').update(sql).digest('hex'),
            finished: true,
            rolled_back: false,
          });
        }

        const tables = await client.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE ` +
            `TABLE'`,
        );
        const present = tables.rows.map((row) => row.table_name);
        const expected = await expectedTables();
        expect(expected.length).toBeGreaterThan(0);
        expect(present).toEqual(expect.arrayContaining([...expected, '_prisma_migrations']));
      } finally {
        await client.end();
      }

      const status = await runPrisma(['migrate', 'status'], databaseUrl);
      expect(status.code, status.output).toBe(0);
      expect(status.output).toContain('Database schema is up to date');
    },
    CLI_TIMEOUT_MS * 2,
  );

  it(
    'finds no drift between the migrations and schema.prisma',
    async () => {
      const result = await runPrisma(
        [
          'migrate',
          'diff',
          '--from-migrations',
          'prisma/migrations',
          '--to-schema',
          'prisma/schema.prisma',
          '--exit-code',
        ],
        databaseUrl,
      );
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain('No difference detected');
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'detects a schema change that has no migration (exit code 2)',
    async () => {
      const schema = await readFile(schemaPath, 'utf8');
      const changed = schema.replace(/^model MaintenanceState \{\n/m, '$&  driftProbe  String?\n');
      expect(changed).not.toBe(schema);
      const changedPath = path.join(tempDir, 'schema.prisma');
      await writeFile(changedPath, changed);

      const result = await runPrisma(
        ['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', changedPath, '--exit-code'],
        databaseUrl,
      );
      expect(result.code, result.output).toBe(2);
      expect(result.output).toContain('driftProbe');
    },
    CLI_TIMEOUT_MS,
  );
});
