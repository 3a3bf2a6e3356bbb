// `npm run db:migrate` (scripts/migrate.ts) against a database at the previous schema version that holds data:
// it backs the data up first, migrates, records the backup labelled pre-migration, and that backup restores
// after the migration.
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecordStorage, runRestore } from '@mp/core';
import { createPgPool, createPrismaClient, seedDemoData, type PgPool, type PrismaClient } from '@mp/db';
import { createLogger } from '@mp/logger';
import { createLocalStorage } from '@mp/storage';
import { tableHashes } from '@mp/testing';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const migrationsDir = path.join(repoRoot, 'prisma/migrations');
const migrations = readdirSync(migrationsDir)
  .filter((d) => existsSync(path.join(migrationsDir, d, 'migration.sql')))
  .sort();
const previous = migrations.at(-2)!;
const adminUrl = process.env.TEST_ADMIN_DATABASE_URL!;
const CORE = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs'];

interface OldDatabase {
  url: string;
  pool: PgPool;
  drop(): Promise<void>;
}

/** A new database with every migration up to `previous` applied the way Prisma records them, and demo data. */
async function databaseAtPreviousVersion(): Promise<OldDatabase> {
  const name = `pm_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
  for (const migration of migrations.slice(0, migrations.indexOf(previous) + 1)) {
    const sql = await readFile(path.join(migrationsDir, migration, 'migration.sql'), 'utf8');
    await client.query(sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ` +
        `($1, $2, now(), $3, 1)`,
      [randomUUID(), createHash('sha256').update(sql).digest('hex'), migration],
    );
  }
  await client.end();
  const pool = createPgPool(url.toString(), { max: 4 });
  await seedDemoData({ pool }, { scale: 0.2, seed: 11 });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs `npm run db:migrate` (its script, without npm's wrapper) against `url`; resolves with exit code and output. */
function migrate(
  url: string,
  backupDir: string,
  args: string[] = [],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['scripts/migrate.ts', ...args], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: url,
        BACKUP_DIR: backupDir,
        LOG_LEVEL: 'silent',
        CLOUDINARY_URL: '',
        CHECKPOINT_DISABLE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function appliedMigrations(pool: PgPool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mp-premigration-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run db:migrate', () => {
  it('backs up a database with data before migrating it, and that backup restores after the migration', {
    timeout: 120_000,
  }, async () => {
    const db = await databaseAtPreviousVersion();
    let prisma: PrismaClient | undefined;
    try {
      const before = await tableHashes(db.pool, CORE);
      const backupDir = path.join(dir, 'with-backup');
      const run = await migrate(db.url, backupDir);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/1 migration\(s\) to apply/);
      expect(run.output).toMatch(/backup written: /);
      expect(await appliedMigrations(db.pool)).toEqual(migrations);

      prisma = createPrismaClient(db.url, { max: 2 });
      const records = await prisma.backupRecord.findMany();
      expect(records).toHaveLength(1);
      const record = records[0]!;
      expect(record).toMatchObject({
        status: 'completed',
        location: 'local',
        labels: { reason: 'pre-migration' },
        schemaVersion: previous,
      });
      const file = readRecordStorage(record.storage).local!.path;
      expect(
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex'),
      ).toBe(record.checksum);

      // The data changes after the migration; restoring the pre-migration backup brings back what was there.
      await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments ORDER BY id LIMIT 5)`);
      await db.pool.query(`UPDATE loan_types SET name = name || ' (edited)'`);
      expect(await tableHashes(db.pool, CORE)).not.toEqual(before);
      const operationId = randomUUID();
      await prisma.operation.create({
        data: {
          id: operationId,
          kind: 'restore',
          jobId: operationId,
          input: { source: { kind: 'backup', backupId: record.id }, skipSafetyBackup: true, allowNoAdmin: true },
        },
      });
      const deps = {
        prisma,
        pool: db.pool,
        storage: { local: createLocalStorage({ dir: backupDir }), cloud: null },
        logger: createLogger({ level: 'silent' }),
        settings: { gzipLevel: 1, compressThresholdBytes: 1024 * 1024 },
        uploadDir: path.join(dir, 'uploads'),
      };
      await runRestore(deps, operationId, { jobId: operationId });
      expect(await tableHashes(db.pool, CORE)).toEqual(before);

      // Nothing pending now: no second backup.
      const again = await migrate(db.url, backupDir);
      expect(again.code, again.output).toBe(0);
      expect(again.output).toMatch(/the schema is current/);
      expect(await prisma.backupRecord.count()).toBe(1);
    } finally {
      await prisma?.$disconnect();
      await db.drop();
    }
  });

  it('migrates without a backup when told --no-backup', { timeout: 120_000 }, async () => {
    const db = await databaseAtPreviousVersion();
    try {
      const backupDir = path.join(dir, 'no-backup');
      const run = await migrate(db.url, backupDir, ['--no-backup']);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/--no-backup given/);
      expect(await appliedMigrations(db.pool)).toEqual(migrations);
      expect(existsSync(backupDir) ? readdirSync(backupDir).filter((f) => f.startsWith('backup_')) : []).toEqual([]);
      const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM backup_records');
      expect(Number(rows[0]!.n)).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
