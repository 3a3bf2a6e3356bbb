import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PrismaClient } from '@mp/db';
import { readAppliedMigrations } from '../backup-format/catalog.js';
import { FORMAT_VERSION } from '../backup-format/tables.js';
import { backupFilename } from '../backups/backup-filename.js';
import { exportToLocal, type BackupRunDeps } from './run-backup.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The label every pre-migration backup carries, so it can be found and filtered. */
export const PRE_MIGRATION_LABELS = { reason: 'pre-migration' } as const;

/** Of `migrations` (folder names under prisma/migrations), those the database has not applied, in order. */
export async function findPendingMigrations(db: Queryable, migrations: readonly string[]): Promise<string[]> {
  const applied = await readAppliedMigrations(db);
  return [...migrations].sort().filter((name) => !applied.has(name));
}

/** Whether any table of the business holds a row (a new, empty database needs no backup before migrating). */
export async function hasBusinessData(db: Queryable): Promise<boolean> {
  const tables = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments'];
  for (const table of tables) {
    const { rows } = await db.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
      `public.${table}`,
    ]);
    if (!rows[0]?.present) continue;
    const found = await db.query(`SELECT 1 FROM public."${table}" LIMIT 1`);
    if (found.rowCount) return true;
  }
  return false;
}

/** A pre-migration export on disk, not yet recorded (the records table may itself be about to change). */
export interface PreMigrationExport {
  id: string;
  key: string;
  path: string;
  bytes: number;
  sha256: string;
  compressed: boolean;
  schemaVersion: string | null;
  recordCounts: Record<string, number>;
  startedAt: Date;
  completedAt: Date;
}

/**
 * Exports the whole database (audit logs included, sessions not) to local storage before migrations run.
 * Nothing is written to the database: the backup records table may be one the migrations change, so the
 * file is recorded by {@link recordPreMigrationBackup} once the schema is current.
 */
export async function takePreMigrationBackup(deps: BackupRunDeps, now = new Date()): Promise<PreMigrationExport> {
  const id = randomUUID();
  const exported = await exportToLocal(deps, backupFilename(now, id), {
    includeAuditLogs: true,
    includeSessions: false,
  });
  await exported.invariants;
  return {
    id,
    key: exported.local.key,
    path: exported.local.path,
    bytes: exported.bytes,
    sha256: exported.sha256,
    compressed: exported.compressed,
    schemaVersion: exported.summary.schemaVersion,
    recordCounts: exported.summary.recordCounts as Record<string, number>,
    startedAt: now,
    completedAt: new Date(),
  };
}

/** Records a pre-migration export as a completed local backup labelled `pre-migration`; returns its id. */
export async function recordPreMigrationBackup(prisma: PrismaClient, exported: PreMigrationExport): Promise<string> {
  const record = await prisma.backupRecord.create({
    data: {
      id: exported.id,
      filename: exported.key,
      type: 'manual',
      status: 'completed',
      location: 'local',
      storage: { local: { key: exported.key, path: exported.path } },
      fileSize: BigInt(exported.bytes),
      checksum: exported.sha256,
      compressed: exported.compressed,
      formatVersion: FORMAT_VERSION,
      schemaVersion: exported.schemaVersion,
      options: { includeAuditLogs: true, includeSessions: false },
      recordCounts: exported.recordCounts,
      labels: PRE_MIGRATION_LABELS,
      createdBy: 'system:migrate',
      startedAt: exported.startedAt,
      completedAt: exported.completedAt,
      durationMs: exported.completedAt.getTime() - exported.startedAt.getTime(),
      progress: { percent: 100, stage: 'done' },
    },
  });
  return record.id;
}
