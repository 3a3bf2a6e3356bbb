/**
 * `npm run db:migrate [-- --no-backup]`: applies pending migrations (`prisma migrate deploy`). When some are
 * pending and the database holds data, it first writes a backup of everything to local storage and waits for
 * it; once the schema is current that backup is recorded, labelled `pre-migration`, so it shows in the list and
 * restores like any other. `npm start` runs this too. Exit status: 0 done (or nothing to do), 1 failed.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { loadConfigOrExit, migrateEnvSchema } from '@mp/config';
import {
  createStorageSet,
  findPendingMigrations,
  hasBusinessData,
  recordPreMigrationBackup,
  takePreMigrationBackup,
  type PreMigrationExport,
} from '@mp/core';
import { createPgPool, createPrismaClient } from '@mp/db';
import { createLogger } from '@mp/logger';

const repoRoot = path.resolve(import.meta.dirname, '..');
const migrationsDir = path.join(repoRoot, 'prisma', 'migrations');
const noBackup = process.argv.slice(2).includes('--no-backup');
const env = loadConfigOrExit(migrateEnvSchema, process.env);
const say = (line: string) => process.stdout.write(`[migrate] ${line}\n`);

function runPrismaDeploy(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
      cwd: repoRoot,
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const migrations = readdirSync(migrationsDir).filter((d) => existsSync(path.join(migrationsDir, d, 'migration.sql')));
const pool = createPgPool(env.DATABASE_URL, { max: 2, applicationName: 'mp-migrate' });
const prisma = createPrismaClient(env.DATABASE_URL, { max: 1 });
let exported: PreMigrationExport | null = null;
try {
  const client = await pool.connect();
  let pending: string[];
  let hasData: boolean;
  try {
    pending = await findPendingMigrations(client, migrations);
    hasData = await hasBusinessData(client);
  } finally {
    client.release();
  }
  if (pending.length === 0) {
    say('the schema is current: no migration to apply');
  } else {
    say(`${pending.length} migration(s) to apply: ${pending.join(', ')}`);
    if (!hasData) say('the database holds no business data: no backup needed first');
    else if (noBackup) say('--no-backup given: migrating WITHOUT a backup first');
    else {
      say('backing up the database before migrating (use --no-backup to skip)…');
      const logger = createLogger({ level: env.LOG_LEVEL, pretty: env.LOG_PRETTY, name: 'migrate' });
      exported = await takePreMigrationBackup({
        prisma,
        pool,
        logger,
        storage: createStorageSet(env),
        settings: { gzipLevel: env.GZIP_LEVEL, compressThresholdBytes: env.COMPRESS_THRESHOLD_BYTES },
      });
      const rows = Object.values(exported.recordCounts).reduce((a, b) => a + b, 0);
      say(`backup written: ${exported.path} (${rows} rows, ${exported.bytes} bytes, sha256 ${exported.sha256})`);
    }
    const code = await runPrismaDeploy();
    if (code !== 0) {
      say(
        `prisma migrate deploy failed (exit ${code}).` +
          (exported ? ` The data as it was before is in ${exported.path}.` : ''),
      );
      process.exitCode = 1;
    } else if (exported) {
      const id = await recordPreMigrationBackup(prisma, exported);
      say(`migrations applied; the backup taken before them is ${id}, labelled reason=pre-migration`);
    } else {
      say('migrations applied');
    }
  }
} catch (err) {
  process.stderr.write(`[migrate] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  if (exported) process.stderr.write(`[migrate] the backup taken before migrating is ${exported.path}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
  await prisma.$disconnect();
}
