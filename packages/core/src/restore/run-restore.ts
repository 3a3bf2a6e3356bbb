import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';
import { quoteIdent, readAppliedMigrations } from '../backup-format/catalog.js';
import { readRecordStorage } from '../backups/record-storage.js';
import { AppError, isAppError } from '../errors.js';
import type { BackupRunDeps, JobProgress } from '../export/run-backup.js';
import { takeSafetyBackup, withExclusiveMaintenance } from './exclusive.js';
import { addForeignKeys, buildIndex, checkStagedFile, finishTable, isCompleteExport, planTable, type BuiltTable, type TablePlan } from './build.js';
import { BuilderPool } from './builder-pool.js';
import { findAdminLockout } from './admin-check.js';
import { invalidBackup, type Problem } from './problems.js';
import { stageFile } from './stage.js';
import type { BackupMetadata } from '../backup-format/metadata.js';
import type { BackupTableKey } from '../backup-format/tables.js';
import { swapIn } from './swap.js';
import { isFailpointArmed, reachFailpoint, type FailpointDeps } from '../failpoints.js';

export interface RestoreDeps extends BackupRunDeps {
  uploadDir: string;
}

export interface RestoreResult {
  restored: Record<string, number>;
  safetyBackupId: string | null;
  sessionsCleared: true;
  sha256: string;
  durationMs: number;
}

const restoreInputSchema = z.object({
  source: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('backup'), backupId: z.string() }),
    z.object({ kind: z.literal('file'), path: z.string() }),
  ]),
  skipSafetyBackup: z.boolean().default(false),
  /** Restore even when no active ADMIN with a usable password would be left (see `findAdminLockout`). */
  allowNoAdmin: z.boolean().default(false),
});
type RestoreInput = z.output<typeof restoreInputSchema>;
type Source = RestoreInput['source'];

/** The Operation row's stored `input` (written by `requestRestore`; rows older than a flag lack it: false). */
function readInput(input: unknown): RestoreInput {
  const parsed = restoreInputSchema.safeParse(input);
  if (!parsed.success) throw new UnrecoverableError('The restore operation names no usable source');
  return parsed.data;
}

/** Opens the file to restore, with its size and the checksum it must have when one is known. */
async function openSource(
  deps: RestoreDeps,
  source: Source,
): Promise<{ stream: Readable; size: number | null; expectedSha256: string | null }> {
  if (source.kind === 'file') {
    // Only files the API put in the upload folder are ever read.
    const resolved = path.resolve(source.path);
    if (path.dirname(resolved) !== path.resolve(deps.uploadDir)) {
      throw new UnrecoverableError('The uploaded file is outside the upload folder');
    }
    const info = await stat(resolved).catch(() => null);
    if (!info) throw new AppError('BACKUP_FILE_MISSING', 'The uploaded file is gone; upload it again');
    return { stream: createReadStream(resolved, { highWaterMark: 1 << 20 }), size: info.size, expectedSha256: null };
  }
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: source.backupId } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${source.backupId} does not exist`);
  const copies = readRecordStorage(record.storage);
  const size = record.fileSize === null ? null : Number(record.fileSize);
  if (copies.local) {
    return { stream: await deps.storage.local.open(copies.local.key), size, expectedSha256: record.checksum };
  }
  if (copies.cloud && deps.storage.cloud) {
    return { stream: await deps.storage.cloud.open(copies.cloud.key), size, expectedSha256: record.checksum };
  }
  throw new AppError('BACKUP_FILE_MISSING', `Backup ${source.backupId} has no copy this worker can read`);
}

/** SHA-256 of the stored bytes of `source`, read again from the start. */
async function hashSource(deps: RestoreDeps, source: Source): Promise<string> {
  const { stream } = await openSource(deps, source);
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

function checksumMismatch(expected: string, actual: string): AppError {
  return new AppError('CHECKSUM_MISMATCH', 'The stored backup file does not match its recorded checksum; it is damaged or was altered, so it was not restored', {
    expected,
    actual,
  });
}

/** Staging schemas are named after their operation, so a crashed one can be found and dropped. */
export const STAGING_SCHEMA_PREFIX = 'mp_restore_';
/** Connections that convert and index staged tables while the file is still being read. */
const BUILDERS = 2;

/**
 * Restores the file named by operation `operationId`, all or nothing (DESIGN §5), with
 * maintenance mode on throughout:
 * 1. The file is read once into a staging schema (typed rows for a stored backup of ours at the
 *    current schema, raw JSON rows otherwise: see `stageFile`); as each table arrives, two other
 *    connections convert it into a table shaped like the live one if needed, and build its keys
 *    and indexes. Then the foreign keys between staged tables are added. Every check (structure,
 *    metadata, counts, types, required fields, duplicates, references, checksum, and that some
 *    active ADMIN could still log in unless the operation says `allowNoAdmin`) happens here,
 *    and none of it touches live data.
 * 2. A safety backup of the live data, unless skipped.
 * 3. One short transaction swaps the staged tables in and deletes every session.
 * Any failure leaves the live tables exactly as they were; the staging schema is always dropped.
 * Validation failures throw `INVALID_BACKUP_FILE` (details.problems lists where and what).
 */
export async function runRestore(
  deps: RestoreDeps,
  operationId: string,
  ctx: { jobId: string; onProgress?: (p: JobProgress) => void },
): Promise<RestoreResult> {
  const started = Date.now();
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (!op) throw new UnrecoverableError(`Operation ${operationId} does not exist`);
  const { source, skipSafetyBackup, allowNoAdmin } = readInput(op.input);
  const progress = ctx.onProgress ?? (() => {});
  const schema = `${STAGING_SCHEMA_PREFIX}${operationId.replaceAll('-', '').slice(0, 16)}`;
  try {
    return await withExclusiveMaintenance(deps, { jobId: ctx.jobId, operationId, reason: 'restore' }, async (client) => {
      const opened = await openSource(deps, source);
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
      // Migration names sort by their timestamp: the largest applied one is the current schema.
      const applied = await readAppliedMigrations(client);
      const currentSchema = [...applied].sort().at(-1) ?? null;
      const builders = await Promise.all(Array.from({ length: BUILDERS }, () => deps.pool.connect()));
      const tasks = new BuilderPool(builders);
      const builds: Promise<BuiltTable>[] = [];
      const builtSoFar: BuiltTable[] = [];
      const claimed = new Set<string>();
      let failed: Error | undefined;
      try {
        // The builders are the parallelism (one index each, side by side): no parallel workers per index on top.
        for (const b of builders) await b.query('SET max_parallel_maintenance_workers = 0');
        progress({ percent: 1, stage: 'validating' });
        // The fast reading only for a stored backup of ours at the current schema: its checksum is
        // checked before anything is swapped in, so a file altered by hand never gets this far on trust.
        const ours = (metadata: BackupMetadata | undefined) => opened.expectedSha256 !== null && isCompleteExport(metadata, currentSchema);
        let readPercent = 1;
        const staged = await stageFile(client, stopAfterFirstPiece(deps, opened.stream), {
          schema,
          typed: ours,
          onBytes: (bytes) => {
            // Called for every piece read: report only when the percentage moves (a Redis call each).
            const percent = opened.size ? Math.min(50, Math.floor((bytes / opened.size) * 50)) : 0;
            if (percent > readPercent) {
              readPercent = percent;
              progress({ percent, stage: 'validating' });
            }
          },
          onTable: (key, rows, typed, taggedJson) => {
            deps.logger.debug({ table: key, rows, typed, ms: Date.now() - started }, 'restore: table staged');
            const build = scheduleTable(deps, tasks, schema, key, rows, { typed, taggedJson }, async (c, built) => {
              deps.logger.debug({ table: key, rows, ms: Date.now() - started }, 'restore: table built');
              // The references between tables built so far are checked now, while the file is still read.
              builtSoFar.push(built);
              await addForeignKeys(c, schema, builtSoFar, { claimed, final: false });
            });
            // Outcomes are collected with allSettled below; until then a rejection is not unhandled.
            build.catch(() => {});
            builds.push(build);
          },
        }).catch(async (err: unknown) => {
          // A stored file that stops making sense part way is most likely damaged: say so when its
          // checksum confirms it, rather than reporting the first value that no longer parses.
          if (opened.expectedSha256 && isAppError(err) && err.code === 'INVALID_BACKUP_FILE') {
            const actual = await hashSource(deps, source).catch(() => null);
            if (actual && actual !== opened.expectedSha256) throw checksumMismatch(opened.expectedSha256, actual);
          }
          throw err;
        });
        if (opened.expectedSha256 && staged.sha256 !== opened.expectedSha256) throw checksumMismatch(opened.expectedSha256, staged.sha256);
        deps.logger.info({ bytes: staged.bytes, ms: Date.now() - started }, 'restore: file read and staged');
        await tasks.close();
        const outcomes = await Promise.allSettled(builds);
        deps.logger.info({ ms: Date.now() - started }, 'restore: tables converted and indexed');
        checkStagedFile(staged, applied);
        throwFirstProblems(outcomes);
        const built = outcomes.map((o) => (o as PromiseFulfilledResult<BuiltTable>).value);
        progress({ percent: 55, stage: 'validating', table: 'references' });
        await addForeignKeys(builders[0]!, schema, built, { claimed, final: true });
        deps.logger.info({ ms: Date.now() - started }, 'restore: references checked');
        // A valid file can still lock every administrator out: refused here, before anything is written.
        const lockout = allowNoAdmin ? null : await findAdminLockout(builders[0]!, schema);
        if (lockout) throw invalidBackup([lockout]);

        let safetyBackupId: string | null = null;
        if (!skipSafetyBackup) {
          progress({ percent: 60, stage: 'safety-backup' });
          safetyBackupId = await takeSafetyBackup(deps, { createdBy: op.createdBy });
        }
        progress({ percent: 90, stage: 'replacing' });
        const swapStarted = Date.now();
        await swapIn(client, schema, built, deps);
        deps.logger.info({ swapMs: Date.now() - swapStarted, ms: Date.now() - started }, 'restore: swapped in');
        progress({ percent: 100, stage: 'done' });
        return {
          restored: Object.fromEntries(built.map((t) => [t.key, t.rows])),
          safetyBackupId,
          sessionsCleared: true,
          sha256: staged.sha256,
          durationMs: Date.now() - started,
        };
      } catch (err) {
        failed = err as Error;
        opened.stream.destroy();
        throw err;
      } finally {
        await tasks.close();
        await Promise.allSettled(builds);
        // Back to the pool as they came; a failed run may have left one mid-statement, so close those.
        if (!failed) for (const b of builders) await b.query('RESET max_parallel_maintenance_workers').catch(() => {});
        for (const b of builders) b.release(failed);
        await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
      }
    });
  } finally {
    if (source.kind === 'file') await rm(source.path, { force: true });
  }
}

/**
 * Queues the building of one staged table on `pool`: its conversion and plan, then each index on
 * whichever connection is free (a big table's indexes are built side by side), then its keys and
 * statistics and `onBuilt`. Resolves with the built table; rejects with its first failure.
 * Each step queues the next from inside its own task, so a closed pool never finds its queue
 * empty between two steps of a table.
 */
function scheduleTable(
  failpoints: FailpointDeps,
  pool: BuilderPool,
  schema: string,
  key: BackupTableKey,
  rows: number,
  opts: { typed: boolean; taggedJson: boolean },
  onBuilt: (client: pg.PoolClient, built: BuiltTable) => Promise<void>,
): Promise<BuiltTable> {
  return new Promise<BuiltTable>((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown) => {
      failed = true;
      reject(err);
    };
    const finish = (plan: TablePlan) =>
      pool.push(async (client) => {
        if (failed) return;
        try {
          const built = await finishTable(client, schema, plan);
          await onBuilt(client, built);
          resolve(built);
        } catch (err) {
          fail(err);
        }
      });
    pool.push(async (client) => {
      let plan: TablePlan;
      try {
        plan = await planTable(client, schema, key, rows, opts);
      } catch (err) {
        fail(err);
        return;
      }
      let left = plan.indexes.length;
      if (left === 0) finish(plan);
      for (const step of plan.indexes) {
        pool.push(async (c) => {
          if (failed) return;
          try {
            await reachFailpoint(failpoints, 'restore.building');
            await buildIndex(c, schema, plan, step);
          } catch (err) {
            fail(err);
            return;
          }
          if (--left === 0) finish(plan);
        });
      }
    });
  });
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

/** Several tables may be wrong at once: report the problems of all of them, in file order. */
function throwFirstProblems(outcomes: PromiseSettledResult<BuiltTable>[]): void {
  const errors = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as Error);
  if (errors.length === 0) return;
  const problems = errors.flatMap((e) => (isAppError(e) && e.code === 'INVALID_BACKUP_FILE' ? ((e.details as { problems?: Problem[] })?.problems ?? []) : []));
  if (problems.length === 0 || problems.length < errors.length) throw errors[0]!;
  throw invalidBackup(problems);
}
