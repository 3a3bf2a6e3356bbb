import { z } from 'zod';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { UnrecoverableError } from '@mp/jobs';
import { quoteIdent, readAppliedMigrations } from '../backup-format/catalog.js';
import { tableByKey } from '../backup-format/tables.js';
import { isAppError } from '../errors.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import type { JobProgress } from '../job-progress.js';
import { releaseConnection } from '../operations/release-connection.js';
import { withExclusiveMaintenance } from './exclusive.js';
import { checkStagedFile, isCompleteExport } from './build.js';
import { findAdminLockout } from './admin-check.js';
import { invalidBackup } from './problems.js';
import { stageFile, type StagedFile } from './stage.js';
import { dropStagingSchema } from './staging-tables.js';
import type { BackupMetadata } from '../backup-format/metadata.js';
import { checksumMismatch, hashSource, openSource, type OpenedSource, type RestoreSource } from './source.js';
import { TableBuilds } from './table-builds.js';
import { restorePointInfoSchema, swapInKeepingRestorePoint, type RestorePointInfo } from './restore-point-swap.js';
import { swapIn } from './swap.js';
import { readRestoreInput, type RestoreInput } from './operation-inputs.js';
import { isFailpointArmed, reachFailpoint, type FailpointDeps } from '../failpoints.js';
import { changesUsers, keepSelectedOnly, resolveSelection, type TableSelection } from './selection.js';
import { findBrokenReferences, wouldBreakReferences } from './reference-check.js';
import { analyzeTables, buildIndexesSerially, resetIndexBuildParallelism } from '../sql/dialect.js';

export interface RestoreDeps extends BackupRunDeps {
  uploadDir: string;
  /** How long a restore can be undone (config UNDO_WINDOW_HOURS; default 24). */
  undoWindowHours?: number;
  /**
   * Typed tables from this many rows are loaded over two connections (config SPLIT_COPY_MIN_ROWS, default
   * {@link SPLIT_COPY_MIN_ROWS}; tests and drills lower it).
   */
  splitCopyMinRows?: number;
}

export interface RestoreResult {
  restored: Record<string, number>;
  /** The pre-restore file's record, once written (linked by the background export). */
  safetyBackupId: string | null;
  /** `pending` until the background export links `safetyBackupId` (`completed`) or fails (`failed`). */
  safetyBackup: 'pending' | 'skipped' | 'completed' | 'failed';
  /** The replaced tables, kept for undo (null for a drill's scratch database). */
  restorePoint: RestorePointInfo | null;
  /** False for a selective restore that leaves the users as they are (sessions kept). */
  sessionsCleared: boolean;
  sha256: string;
  /** Selective restore: the tables replaced, and those `withDependencies` added to the ones asked for. */
  tables?: string[];
  addedByDependencies?: string[];
  durationMs: number;
}

/** {@link RestoreResult} as stored on `Operation.result` (JSON), for reading it back. */
export const restoreResultSchema = z.object({
  restored: z.record(z.string(), z.number()),
  safetyBackupId: z.string().nullable(),
  safetyBackup: z.enum(['pending', 'skipped', 'completed', 'failed']),
  restorePoint: restorePointInfoSchema.nullable(),
  sessionsCleared: z.boolean(),
  sha256: z.string(),
  tables: z.array(z.string()).optional(),
  addedByDependencies: z.array(z.string()).optional(),
  durationMs: z.number(),
}) satisfies z.ZodType<RestoreResult>;

/** Staging schemas are named after their operation, so a crashed one can be found and dropped. */
export const STAGING_SCHEMA_PREFIX = 'mp_restore_';
/** Connections that convert and index staged tables while the file is still being read. */
const BUILDERS = 2;
/**
 * Typed tables with at least this many rows (by the file's metadata) are loaded over two connections
 * (`SecondCopy`): at 2.4 M rows the read was the restore's critical path, one backend parsing COPY
 * while the other core waited for tables to build (docs/benchmarks.md, 2026-12-01 15:00).
 */
export const SPLIT_COPY_MIN_ROWS = 100_000;

/**
 * The database a restore writes into, apart from `deps` (whose prisma client keeps the bookkeeping:
 * operations, records, maintenance). The live database, or a drill's scratch database: a scratch
 * target gets no safety point, and nothing in it needs one.
 */
export interface RestoreTarget {
  pool: pg.Pool;
  scratch: boolean;
}

/** One restore run: what every step reports to. */
export interface Run {
  deps: RestoreDeps;
  target: RestoreTarget;
  operationId: string;
  started: number;
  progress: (p: JobProgress) => void;
}

/** What the stage reads, where it puts it, and who builds the tables it stages. */
export interface StageJob {
  schema: string;
  source: RestoreSource;
  opened: OpenedSource;
  /** Whether a file with this metadata may be read the fast way (see `stageFile`). */
  typed: (metadata: BackupMetadata | undefined) => boolean;
  builds: TableBuilds;
  /** Selective restore: only these tables are built (null: every table of the file). */
  selection?: TableSelection | null;
  /** A second connection for the COPY of big tables (see `SecondCopy`). */
  second?: pg.PoolClient;
}

/**
 * Restores the file named by operation `operationId`, all or nothing, with
 * maintenance mode on throughout:
 * 1. The file is read once into a staging schema (typed rows for a stored backup of ours at the
 *    current schema, raw JSON rows otherwise: see `stageFile`); as each table arrives, two other
 *    connections convert it into a table shaped like the live one if needed, and build its keys
 *    and indexes (`TableBuilds`). Then the foreign keys between staged tables are added. Every check
 *    (structure, metadata, counts, types, required fields, duplicates, references, checksum, and
 *    that some active ADMIN could still log in unless the operation says `allowNoAdmin`) happens
 *    here, and none of it touches live data.
 * 2. One short transaction swaps the staged tables in, moves the live ones into the restore point
 *    (`mp_restore_point_…`, kept for the undo window) and deletes every session. Earlier restore
 *    points are dropped after it commits. The pre-restore file is written from the restore point
 *    afterwards, in the background (`exportRestorePoint`), unless `skipSafetyBackup`.
 * Any failure leaves the live tables exactly as they were; the staging schema is always dropped.
 * Validation failures throw `INVALID_BACKUP_FILE` (details.problems lists where and what).
 * Selective restore (input `tables`, optionally `withDependencies`: see selection.ts): only those
 * tables are built, checked and swapped; before the swap the references crossing between them and the
 * kept tables are checked both ways (reference-check.ts, `RESTORE_WOULD_BREAK_REFERENCES`), and
 * sessions are kept unless `users` is restored.
 */
export async function runRestore(
  deps: RestoreDeps,
  operationId: string,
  ctx: { jobId: string; onProgress?: (p: JobProgress) => void },
): Promise<RestoreResult> {
  const run: Run = {
    deps,
    target: { pool: deps.pool, scratch: false },
    operationId,
    started: Date.now(),
    progress: ctx.onProgress ?? (() => {}),
  };
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (!op) throw new UnrecoverableError(`Operation ${operationId} does not exist`);
  const input = readRestoreInput(op.input);
  const schema = `${STAGING_SCHEMA_PREFIX}${operationId.replaceAll('-', '').slice(0, 16)}`;
  try {
    return await withExclusiveMaintenance(deps, { jobId: ctx.jobId, operationId, reason: 'restore' }, (client) =>
      restoreExclusively(run, client, schema, input),
    );
  } finally {
    if (input.source.kind === 'file') await rm(input.source.path, { force: true });
  }
}

/**
 * Restores stored backup `backupId` into the scratch database `target.pool` connects to (a restore
 * drill): the same staging, checks and swap as {@link runRestore}, without its exclusive lock,
 * maintenance mode or safety point, none of which concern a database nobody uses. The scratch
 * database must carry the schema (migrations and their `_prisma_migrations` rows) already.
 */
export async function restoreIntoScratch(
  deps: RestoreDeps,
  target: { pool: pg.Pool },
  input: { backupId: string; operationId: string },
  ctx: { onProgress?: (p: JobProgress) => void } = {},
): Promise<RestoreResult> {
  const run: Run = {
    deps,
    target: { pool: target.pool, scratch: true },
    operationId: input.operationId,
    started: Date.now(),
    progress: ctx.onProgress ?? (() => {}),
  };
  const schema = `${STAGING_SCHEMA_PREFIX}${input.operationId.replaceAll('-', '').slice(0, 16)}`;
  const restoreInput: RestoreInput = {
    source: { kind: 'backup', backupId: input.backupId },
    skipSafetyBackup: true,
    allowNoAdmin: true,
    withDependencies: false,
  };
  const client = await target.pool.connect();
  let failed: Error | undefined;
  try {
    return await restoreExclusively(run, client, schema, restoreInput);
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    client.release(failed);
  }
}

/** The restore itself, on the connection that holds the exclusive lock, with maintenance mode on (live target). */
async function restoreExclusively(
  run: Run,
  client: pg.PoolClient,
  schema: string,
  input: RestoreInput,
): Promise<RestoreResult> {
  const { deps, target, started, progress } = run;
  const opened = await openSource(deps, input.source);
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  // Migration names sort by their timestamp: the largest applied one is the current schema.
  const applied = await readAppliedMigrations(client);
  const currentSchema = [...applied].sort().at(-1) ?? null;
  const builders = await Promise.all(Array.from({ length: BUILDERS }, () => target.pool.connect()));
  // The second COPY stream for big tables, released as soon as the file is read.
  let second: pg.PoolClient | undefined = await target.pool.connect();
  const builds = new TableBuilds(deps, builders, schema, started);
  let failed: Error | undefined;
  try {
    // Selective restore (`tables`): only those (and their dependencies) are built, checked and swapped.
    const selection = await resolveSelection(client, input);
    // The builders are the parallelism (one index each, side by side): no parallel workers per index on top.
    for (const b of builders) await buildIndexesSerially(b);

    // Stage: the file read once, each table built as soon as it is in.
    progress({ percent: 1, stage: 'validating' });
    // The fast reading only for a stored backup of ours at the current schema: its checksum is
    // checked before anything is swapped in, so a file altered by hand never gets this far on trust.
    const typed = (metadata: BackupMetadata | undefined) =>
      opened.expectedSha256 !== null && isCompleteExport(metadata, currentSchema);
    const staged = await stage(run, client, {
      schema,
      source: input.source,
      opened,
      typed,
      builds,
      selection,
      second,
    }).then(
      (file) => {
        second?.release();
        second = undefined;
        return file;
      },
      (err: Error) => {
        // It may have been mid-COPY (abandoned: CopyFail is on its way): rolled back, then given back or closed.
        if (second) void releaseConnection(second, err);
        second = undefined;
        throw err;
      },
    );
    deps.logger.info({ bytes: staged.bytes, ms: Date.now() - started }, 'restore: file read and staged');

    // Validate: the file as a whole, every table built, the references between them, an admin left.
    // The file's own problems (its version, a missing table, wrong counts) come before its rows'.
    checkStagedFile(staged, applied);
    if (selection) await keepSelectedOnly(client, schema, staged.counts, selection);
    const built = await builds.settle();
    // Selective: the references crossing between restored and kept tables, both ways, before any write.
    if (selection) {
      const broken = await findBrokenReferences(client, schema, built, { sessionsCleared: changesUsers(selection) });
      if (broken.length > 0) throw wouldBreakReferences(broken);
    }
    deps.logger.info({ ms: Date.now() - started }, 'restore: tables converted and indexed');
    progress({ percent: 55, stage: 'validating', table: 'references' });
    await builds.addRemainingForeignKeys(built);
    deps.logger.info({ ms: Date.now() - started }, 'restore: references checked');
    // A valid file can still lock every administrator out: refused here, before anything is written.
    const lockout =
      input.allowNoAdmin || !changesUsers(selection) ? null : await findAdminLockout(builders[0]!, schema);
    if (lockout) throw invalidBackup([lockout]);

    // Swap. Live: the replaced tables become the restore point (the safety point, at no copying cost).
    // A drill's scratch database needs none: its replaced tables are dropped.
    progress({ percent: 90, stage: 'replacing' });
    const swapStarted = Date.now();
    const clearSessions = changesUsers(selection);
    const point = target.scratch
      ? await swapIn(client, schema, built, deps, { clearSessions }).then(() => null)
      : await swapInKeepingRestorePoint(deps, client, { schema, built, operationId: run.operationId, clearSessions });
    deps.logger.info({ swapMs: Date.now() - swapStarted, ms: Date.now() - started }, 'restore: swapped in');
    progress({ percent: 100, stage: 'done' });
    return {
      restored: Object.fromEntries(built.map((t) => [t.key, t.rows])),
      // Written from the restore point in the background once maintenance is off (`backup.restore-points`);
      // not for a selective restore (its point holds only some tables; undo still works) or a drill.
      safetyBackupId: null,
      safetyBackup: input.skipSafetyBackup || selection || target.scratch ? 'skipped' : 'pending',
      restorePoint: point,
      sessionsCleared: clearSessions,
      sha256: staged.sha256,
      durationMs: Date.now() - started,
      ...(selection ? { tables: selection.tables, addedByDependencies: selection.addedByDependencies } : {}),
    };
  } catch (err) {
    failed = err as Error;
    opened.stream.destroy();
    throw err;
  } finally {
    // Only when the stage never began (it releases `second` itself).
    if (second) void releaseConnection(second, failed);
    await builds.close();
    // Back to the pool as they came: their pool has ended, so nothing runs on them any more (see releaseConnection).
    // Not awaited: the staging schema is dropped at once. The exclusive connection goes back last, after the drop
    // (`releaseLiveTablesLock`, by the caller).
    for (const b of builders) void releaseConnection(b, failed, resetIndexBuildParallelism);
    await dropStagingSchema(client, schema, failed).catch(() => {});
  }
}

/**
 * Gathers the planner statistics of the tables a restore swapped in (`result.restored`), once it
 * completed and maintenance is off. ANALYZE blocks neither reads nor writes, and until it is done the
 * planner works from the row counts the index builds recorded. Not part of the restore's outcome: a
 * failure is logged, never thrown (autovacuum analyzes the tables later anyway, since their rows
 * count as inserted).
 */
export async function analyzeRestoredTables(
  deps: Pick<BackupRunDeps, 'pool' | 'logger'>,
  result: Pick<RestoreResult, 'restored'>,
): Promise<void> {
  const tables = Object.keys(result.restored).flatMap((key) => tableByKey(key)?.table ?? []);
  if (tables.length === 0) return;
  const started = Date.now();
  try {
    await analyzeTables(
      deps.pool,
      tables.map((t) => `public.${quoteIdent(t)}`),
    );
    deps.logger.info({ tables: tables.length, ms: Date.now() - started }, 'restore: statistics gathered');
  } catch (err) {
    deps.logger.warn(
      { err: (err as Error).message },
      'restore: ANALYZE of the restored tables failed (autovacuum will gather the statistics)',
    );
  }
}

/**
 * Reads the source into the staging schema, adding each table to `builds` as it arrives, and
 * checks the stored checksum.
 * @throws AppError CHECKSUM_MISMATCH for a stored file that is not what was recorded; the stage's errors otherwise
 */
export async function stage(run: Run, client: pg.PoolClient, job: StageJob): Promise<StagedFile> {
  const { deps, started } = run;
  const { opened } = job;
  const staged = await stageFile(client, stopAfterFirstPiece(deps, opened.stream), {
    schema: job.schema,
    typed: job.typed,
    onBytes: readProgress(run.progress, opened.size),
    second: job.second
      ? {
          client: job.second,
          minRows: deps.splitCopyMinRows ?? SPLIT_COPY_MIN_ROWS,
          ...(isFailpointArmed(deps, 'restore.split-copy')
            ? { whileSplit: () => reachFailpoint(deps, 'restore.split-copy') }
            : {}),
        }
      : undefined,
    // The stored bytes are hashed once, by `openSource`, not a second time here.
    hash: false,
    onTable: (key, rows, typed, taggedJson, copies) => {
      deps.logger.debug({ table: key, rows, typed, copies, ms: Date.now() - started }, 'restore: table staged');
      if (!job.selection || job.selection.tables.includes(key)) job.builds.add(key, rows, { typed, taggedJson });
    },
  }).catch(async (err: unknown) => {
    // A stored file that stops making sense part way is most likely damaged: say so when its
    // checksum confirms it, rather than reporting the first value that no longer parses.
    if (opened.expectedSha256 && isAppError(err) && err.code === 'INVALID_BACKUP_FILE') {
      const actual = await hashSource(deps, job.source).catch(() => null);
      if (actual && actual !== opened.expectedSha256) throw checksumMismatch(opened.expectedSha256, actual);
    }
    throw err;
  });
  job.builds.fileRead();
  // The checksum is that of the stored bytes (encrypted ones for an encrypted file), not of the plaintext read.
  const storedSha256 = opened.storedSha256();
  if (opened.expectedSha256 && storedSha256 !== opened.expectedSha256)
    throw checksumMismatch(opened.expectedSha256, storedSha256);
  return { ...staged, sha256: storedSha256 };
}

/**
 * Reading is the first half of the progress (1 to 50 %). Called for every piece read: reports only
 * when the percentage moves (each report is a Redis call).
 */
function readProgress(progress: (p: JobProgress) => void, size: number | null): (bytes: number) => void {
  let reported = 1;
  return (bytes) => {
    const percent = size ? Math.min(50, Math.floor((bytes / size) * 50)) : 0;
    if (percent > reported) {
      reported = percent;
      progress({ percent, stage: 'validating' });
    }
  };
}

/** Crash drills: the file's first piece reaches the staging tables, then the read stops at `restore.staging`. */
function stopAfterFirstPiece(deps: FailpointDeps, stream: Readable): Readable {
  if (!isFailpointArmed(deps, 'restore.staging')) return stream;
  async function* pass(): AsyncGenerator<Buffer> {
    let pieces = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (pieces++ === 1) await reachFailpoint(deps, 'restore.staging');
      yield chunk;
    }
  }
  return Readable.from(pass());
}
