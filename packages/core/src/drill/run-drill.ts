import type pg from 'pg';
import { createPgPool } from '@mp/db';
import { UnrecoverableError } from '@mp/jobs';
import { AppError, isAppError } from '../errors.js';
import type { JobProgress } from '../job-progress.js';
import { exportSnapshot, type ExportSummary } from '../export/snapshot-export.js';
import { openSource } from '../restore/source.js';
import { restoreIntoScratch, type RestoreDeps } from '../restore/run-restore.js';
import { checkBusinessInvariants } from '../verify/business-invariants.js';
import { digestBackupDocument, type TableDigest } from './row-digests.js';
import {
  applyMigrations,
  createScratchDatabase,
  databaseUrlFor,
  drillDatabaseName,
  dropScratchDatabase,
  releaseDrillLock,
  tryDrillLock,
} from './scratch-database.js';

export interface DrillDeps extends RestoreDeps {
  /** The live database's URL: the scratch database is created on the same server, as the same role. */
  databaseUrl: string;
  /** Where `<name>/migration.sql` files give the scratch database its schema (config DRILL_MIGRATIONS_DIR). */
  migrationsDir: string;
}

/** One broken business rule found in the restored data (a warning: it never fails the drill). */
export interface DrillInvariant {
  rule: string;
  count: number;
  examples: string[];
  message: string;
}

/** A drill's outcome, kept as its Operation's result (health and metrics read these names). */
export interface DrillResult {
  backupId: string;
  /**
   * The recovery time: seconds from the drill's start to a usable database (scratch database created, schema
   * migrated, data restored), as an operator restoring for real would wait for it.
   */
  rtoSeconds: number;
  /** Seconds from the drill's start until the restored rows were also compared with the file (counts and hashes). */
  checkedSeconds: number;
  /** Seconds of the restore alone (staging, checks, swap). */
  restoreSeconds: number;
  /** Rows restored per second of the restore. */
  rowsPerSecond: number;
  rows: number;
  /** Per table of the file: rows in the scratch database, rows in the file, and whether their content hashes agree. */
  tables: Record<string, { rows: number; fileRows: number; hashOk: boolean }>;
  /** Tables of the file not compared, with why. */
  skipped: Record<string, string>;
  ok: boolean;
  invariants: DrillInvariant[];
}

/** Tables every restore empties by design (everyone logs in again): present in the file, never compared. */
const CLEARED_BY_RESTORE: Record<string, string> = { sessions: 'every restore clears sessions' };

/**
 * A restore drill of the stored backup named by drill operation `operationId` (README, "Restore drills";
 * docs/operations.md):
 * 1. creates the scratch database `mp_drill_<id>` on the live server (never the live database) and gives
 *    it the schema from the migration files;
 * 2. restores the file into it through the restore's own code (`restoreIntoScratch`), while the file's
 *    rows are digested on a second read;
 * 3. compares per-table row counts and content digests of the scratch database with the file's, with
 *    one function for both ({@link digestBackupDocument});
 * 4. checks the business invariants on the restored data (warnings only);
 * 5. drops the scratch database, whatever happened. A worker killed mid-drill leaves it behind with its
 *    advisory lock released: `dropAbandonedDrills` at the next start-up drops it.
 * @throws AppError DRILL_FAILED (result in `details`) when counts or digests differ; DRILL_NOT_PERMITTED
 *   when the role may not create databases; the restore's errors (e.g. CHECKSUM_MISMATCH), prefixed
 *   with "Restore drill failed:"
 */
export async function runDrill(
  deps: DrillDeps,
  operationId: string,
  ctx: { onProgress?: (p: JobProgress) => void } = {},
): Promise<DrillResult> {
  const started = Date.now();
  const progress = ctx.onProgress ?? (() => {});
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (op?.kind !== 'drill' || !op.backupId)
    throw new UnrecoverableError(`Operation ${operationId} is not a drill of a stored backup`);
  const backupId = op.backupId;
  const name = drillDatabaseName(operationId);
  // The lock lives on its own live-database connection for the whole drill: it is how a restarted worker
  // tells a running drill's scratch database from an abandoned one.
  const lock = await deps.pool.connect();
  let broken: Error | undefined;
  try {
    if (!(await tryDrillLock(lock, name)))
      throw new AppError('OPERATION_IN_PROGRESS', 'This drill is already running on another worker');
    try {
      progress({ percent: 1, stage: 'preparing' });
      await createScratchDatabase(lock, name);
      try {
        return await drillInto(deps, { name, backupId, operationId, started, progress });
      } finally {
        await dropScratchDatabase(lock, name).catch((err: Error) =>
          deps.logger.warn(
            { database: name, err: err.message },
            'drill: could not drop the scratch database; the next worker start drops it',
          ),
        );
      }
    } finally {
      await releaseDrillLock(lock, name);
    }
  } catch (err) {
    broken = err as Error;
    throw drillError(err);
  } finally {
    lock.release(broken);
  }
}

interface DrillRun {
  name: string;
  backupId: string;
  operationId: string;
  started: number;
  progress: (p: JobProgress) => void;
}

async function drillInto(deps: DrillDeps, run: DrillRun): Promise<DrillResult> {
  const { progress } = run;
  const scratch = createPgPool(databaseUrlFor(deps.databaseUrl, run.name), {
    max: 4,
    applicationName: 'mp-drill',
    onError: (err) => deps.logger.warn({ err: err.message }, 'drill: idle scratch connection lost'),
  });
  try {
    await applyMigrations(scratch, deps.migrationsDir);
    // The file's own digests, from a second read of the stored file beside the restore (mostly waiting on PostgreSQL).
    const fileDigests = digestStoredFile(deps, run.backupId);
    fileDigests.catch(() => {});
    const restored = await restoreIntoScratch(
      deps,
      { pool: scratch },
      { backupId: run.backupId, operationId: run.operationId },
      {
        onProgress: (p) =>
          progress({
            ...p,
            percent: 5 + Math.floor(p.percent * 0.75),
            stage: p.stage === 'done' ? 'comparing' : p.stage,
          }),
      },
    );
    const rtoSeconds = seconds(Date.now() - run.started);
    deps.logger.info({ rtoSeconds }, 'drill: restored into the scratch database');
    progress({ percent: 82, stage: 'comparing' });
    const compared = Object.keys(restored.restored).filter((key) => !(key in CLEARED_BY_RESTORE));
    const [file, db] = await Promise.all([fileDigests, digestDatabase(scratch, compared)]);
    const tables = Object.fromEntries(
      compared.map((key) => {
        const f = file[key];
        const d = db[key];
        return [
          key,
          {
            rows: d?.rows ?? 0,
            fileRows: f?.rows ?? 0,
            hashOk: !!f && !!d && f.rows === d.rows && f.digest === d.digest,
          },
        ];
      }),
    );
    const checkedSeconds = seconds(Date.now() - run.started);
    progress({ percent: 92, stage: 'comparing', table: 'invariants' });
    const invariants = await withClient(scratch, (c) => checkBusinessInvariants(c, { schema: 'public' }));
    const rows = Object.values(restored.restored).reduce((a, b) => a + b, 0);
    const restoreSeconds = seconds(restored.durationMs);
    const result: DrillResult = {
      backupId: run.backupId,
      rtoSeconds,
      checkedSeconds,
      restoreSeconds,
      rowsPerSecond: Math.round(rows / Math.max(restored.durationMs / 1000, 0.001)),
      rows,
      tables,
      skipped: Object.fromEntries(
        Object.keys(restored.restored)
          .filter((k) => k in CLEARED_BY_RESTORE)
          .map((k) => [k, CLEARED_BY_RESTORE[k]!]),
      ),
      ok: Object.values(tables).every((t) => t.hashOk),
      invariants: invariants.map((w) => ({ rule: w.code, count: w.count, examples: w.examples, message: w.message })),
    };
    if (!result.ok) {
      const bad = Object.entries(tables)
        .filter(([, t]) => !t.hashOk)
        .map(([k, t]) => `${k} (${t.rows} rows restored, ${t.fileRows} in the file)`);
      throw new AppError(
        'DRILL_FAILED',
        `Restore drill failed: the restored data differs from the file in ${bad.join(', ')}`,
        result,
      );
    }
    progress({ percent: 100, stage: 'done' });
    return result;
  } finally {
    await scratch.end().catch(() => {});
  }
}

/** Digests of the stored file's rows, read from where the restore reads it. */
async function digestStoredFile(deps: DrillDeps, backupId: string): Promise<Record<string, TableDigest>> {
  const opened = await openSource(deps, { kind: 'backup', backupId });
  try {
    return await digestBackupDocument(opened.stream);
  } finally {
    opened.stream.destroy();
  }
}

/** Digests of the scratch database's tables `keys`, exported exactly as a backup writes them. */
async function digestDatabase(pool: pg.Pool, keys: string[]): Promise<Record<string, TableDigest>> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const summary: ExportSummary = { recordCounts: {}, schemaVersion: null, timestamp: '' };
    const options = { includeAuditLogs: keys.includes('auditLogs'), includeSessions: false };
    return await digestBackupDocument(exportSnapshot(client, options, summary));
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

async function withClient<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** A failure told as a drill's: one line, the restore's code and details kept. */
function drillError(err: unknown): unknown {
  if (!isAppError(err) || err.message.startsWith('Restore drill failed')) return err;
  if (err.code === 'DRILL_NOT_PERMITTED' || err.code === 'OPERATION_IN_PROGRESS') return err;
  return new AppError(err.code, `Restore drill failed: ${err.message.split('\n')[0]}`, err.details, { cause: err });
}
