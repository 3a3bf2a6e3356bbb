import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PgPool, PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import type { Queue } from 'bullmq';
import { JOBS, RESTORE_POINTS_SCHEDULER_ID, RETENTION, UnrecoverableError } from '@mp/jobs';
import { quoteIdent } from '../backup-format/catalog.js';
import { BACKUP_TABLES } from '../backup-format/tables.js';
import { runBackup, type BackupRunDeps, type BackupRunResult } from '../export/run-backup.js';
import type { JobProgress } from '../job-progress.js';
import { LIVE_TABLES_LOCK } from '../operations/advisory-locks.js';
import { dropRestorePoint, listRestorePoints, restorePointBytes, restorePointTables } from './restore-point.js';
import { markDropped, recordRestorePoint } from './restore-point-swap.js';
import { readRestoreFlags, undoInputSchema } from './operation-inputs.js';
import { tryLockForSession } from '../sql/dialect.js';
import { releaseLiveTablesLock } from '../operations/release-live-tables-lock.js';
import { restoreResultSchema } from './run-restore.js';

type Deps = { prisma: PrismaClient; pool: PgPool; logger: Logger };

/**
 * Runs `fn` on a connection holding the `LIVE_TABLES_LOCK` (restores, resets and undos hold it while
 * they run), or returns null at once when another worker holds it.
 */
async function withRunLock<T>(pool: PgPool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T | null> {
  const client = await pool.connect();
  let locked = false;
  let failed: Error | undefined;
  try {
    locked = await tryLockForSession(client, LIVE_TABLES_LOCK);
    if (!locked) return null;
    return await fn(client);
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    if (locked) await releaseLiveTablesLock(client, failed);
    else client.release(failed);
  }
}

export interface SweepReport {
  /** Restore points dropped, with why. */
  dropped: { schema: string; reason: string }[];
  /** Restore points kept (their undo window is open), with their current size. */
  kept: { schema: string; operationId: string; bytes: number; undoUntil: string }[];
  /** Completed restores whose pre-restore file is still to be written (their export job is missing). */
  needsExport: string[];
}

/**
 * Hourly housekeeping: drops every restore point whose undo window closed, whose restore was
 * followed by another restore or reset, or that no finished restore owns; refreshes the size of the
 * others. Restore points of restores still running are left to recovery. Skipped (null) while a
 * restore, reset or undo holds the run lock: the next run catches up.
 */
export async function sweepRestorePoints(deps: Deps, now: Date = new Date()): Promise<SweepReport | null> {
  return withRunLock(deps.pool, (client) => dropStaleRestorePoints(deps, client, now));
}

/** {@link sweepRestorePoints} on a connection that already holds the run lock (worker recovery). */
export async function dropStaleRestorePoints(
  deps: Deps,
  client: pg.PoolClient,
  now: Date = new Date(),
): Promise<SweepReport> {
  const report: SweepReport = { dropped: [], kept: [], needsExport: [] };
  const latest = await deps.prisma.operation.findFirst({
    where: { kind: { in: ['restore', 'reset'] }, status: 'completed' },
    orderBy: { completedAt: 'desc' },
    select: { id: true },
  });
  for (const point of await listRestorePoints(client)) {
    const op = point.operationId ? await deps.prisma.operation.findUnique({ where: { id: point.operationId } }) : null;
    if (op && (op.status === 'queued' || op.status === 'running')) continue;
    const reason = !op
      ? 'no restore owns it'
      : op.restorePointDroppedAt
        ? 'it was dropped already'
        : op.status !== 'completed'
          ? `its restore ${op.status}`
          : latest?.id !== op.id
            ? 'a later restore or reset replaced the data'
            : !op.undoUntil || op.undoUntil <= now
              ? 'its undo window closed'
              : null;
    if (reason) {
      await dropRestorePoint(client, point.schema);
      await markDropped(deps.prisma, point.schema);
      deps.logger.info({ restorePoint: point.schema, reason }, 'restore point dropped');
      report.dropped.push({ schema: point.schema, reason });
      continue;
    }
    const bytes = await restorePointBytes(client, point.schema);
    await deps.prisma.operation.update({ where: { id: op!.id }, data: { restorePointBytes: bytes } });
    report.kept.push({
      schema: point.schema,
      operationId: op!.id,
      bytes: Number(bytes),
      undoUntil: op!.undoUntil!.toISOString(),
    });
    const { safetyBackup } = restoreResultSchema.pick({ safetyBackup: true }).safeParse(op!.result).data ?? {};
    if (safetyBackup === 'pending') report.needsExport.push(op!.id);
  }
  return report;
}

/**
 * Drops restore `restoreOperationId`'s point now (DELETE …/restore-point): its undo becomes impossible.
 * @throws Error (retried) while a restore, reset or undo holds the run lock
 */
export async function dropRestorePointOf(
  deps: Deps,
  restoreOperationId: string,
): Promise<{ restoreOperationId: string; dropped: string | null }> {
  const done = await withRunLock(deps.pool, async (client) => {
    const op = await deps.prisma.operation.findUnique({ where: { id: restoreOperationId } });
    if (!op?.restorePoint || op.restorePointDroppedAt) return { restoreOperationId, dropped: null };
    await dropRestorePoint(client, op.restorePoint);
    await markDropped(deps.prisma, op.restorePoint);
    deps.logger.info({ restorePoint: op.restorePoint, restoreOperationId }, 'restore point dropped on request');
    return { restoreOperationId, dropped: op.restorePoint };
  });
  if (!done)
    throw new Error('A restore, reset or undo is running; the restore point will be dropped after it (retrying)');
  return done;
}

/** The BullMQ job id of restore `restoreOperationId`'s pre-restore export; also its record's `jobId`. */
export const preRestoreJobId = (restoreOperationId: string) => `pre-restore-${restoreOperationId}`;

/**
 * Writes restore `restoreOperationId`'s `pre-restore` file from its restore point (a normal backup
 * record, verified and pruned like the others), then links it from the restore's result
 * (`safetyBackupId`). Resumes the record of an earlier attempt. Skipped when the restore asked for no
 * safety file, or its restore point is gone (the result then says `failed`, with why).
 */
export async function exportRestorePoint(
  deps: BackupRunDeps,
  restoreOperationId: string,
  ctx: { attempt: number; isLastAttempt: boolean; onProgress?: (p: JobProgress) => void },
): Promise<BackupRunResult | { skipped: string }> {
  const op = await deps.prisma.operation.findUnique({ where: { id: restoreOperationId } });
  if (op?.kind !== 'restore') throw new UnrecoverableError(`Restore ${restoreOperationId} does not exist`);
  const flags = readRestoreFlags(op.input);
  if (flags.skipSafetyBackup) return { skipped: 'the restore asked for no safety backup' };
  // A selective restore's point holds only the tables it replaced: undo works, a whole pre-restore file cannot be
  // written.
  if (flags.selective)
    return { skipped: 'a selective restore keeps its restore point for undo, without a pre-restore file' };
  const jobId = preRestoreJobId(restoreOperationId);
  let record = await deps.prisma.backupRecord.findUnique({ where: { jobId } });
  if (!record) {
    if (!op.restorePoint || op.restorePointDroppedAt) {
      await linkSafety(deps.prisma, restoreOperationId, {
        safetyBackup: 'failed',
        safetyBackupError: 'the restore point was dropped before its file was written',
      });
      return { skipped: 'the restore point was dropped before its file was written' };
    }
    const tables = await restorePointTables(deps.pool, op.restorePoint);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    record = await deps.prisma.backupRecord.create({
      data: {
        id: randomUUID(),
        jobId,
        filename: `pre-restore_${stamp}.json`,
        type: 'pre_restore',
        status: 'queued',
        location: 'local',
        options: {
          includeAuditLogs: tables.includes(tableOf('auditLogs')),
          includeSessions: tables.includes(tableOf('sessions')),
          schema: op.restorePoint,
          restoreOperationId,
        },
        createdBy: op.createdBy,
      },
    });
  }
  try {
    const result = await runBackup(deps, record.id, ctx);
    await linkSafety(deps.prisma, restoreOperationId, { safetyBackupId: record.id, safetyBackup: 'completed' });
    return result;
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0]!;
    const final = ctx.isLastAttempt || err instanceof UnrecoverableError;
    await deps.prisma.backupRecord.update({
      where: { id: record.id },
      data: final
        ? { status: 'failed', error: reason, completedAt: new Date() }
        : { status: 'queued', error: `Attempt ${ctx.attempt} failed, will retry: ${reason}` },
    });
    if (final) await linkSafety(deps.prisma, restoreOperationId, { safetyBackup: 'failed', safetyBackupError: reason });
    throw err;
  }
}

const tableOf = (key: string) => BACKUP_TABLES.find((t) => t.key === key)!.table;

async function linkSafety(prisma: PrismaClient, operationId: string, patch: Record<string, unknown>): Promise<void> {
  await prisma.$executeRaw`UPDATE operations SET result = coalesce(result, '{}'::jsonb)
    || ${JSON.stringify(patch)}::jsonb, "updatedAt" = now() WHERE id = ${operationId}`;
}

/**
 * Worker recovery, with the run lock held: decides from the catalog how far an interrupted restore or
 * undo got, and finishes it when its swap committed (the new tables are live: a restore point named
 * after a running restore exists; a running undo's restore point is gone). Operations whose swap did
 * not commit are left running for the caller to fail ("nothing was changed").
 * @returns the restores finished here (their pre-restore export is still to be queued)
 */
export async function finishInterruptedSwaps(
  deps: Deps & { undoWindowHours?: number },
  client: pg.PoolClient,
  olderThan: Date,
): Promise<{ restores: string[]; undos: string[] }> {
  const out = { restores: [] as string[], undos: [] as string[] };
  const points = await listRestorePoints(client);
  const running = await deps.prisma.operation.findMany({
    where: { kind: { in: ['restore', 'undo'] }, status: 'running', startedAt: { lt: olderThan } },
  });
  for (const op of running) {
    if (op.kind === 'restore') {
      const point = points.find((p) => p.operationId === op.id);
      if (!point) continue;
      const info = await recordRestorePoint(deps, client, op.id);
      const tables = await restorePointTables(client, point.schema);
      const counts = await client.query<Record<string, string>>(
        `SELECT ${tables.map((t) => `(SELECT count(*) FROM public.${quoteIdent(t)}) AS ${quoteIdent(t)}`).join(', ')}`,
      );
      const skip = readRestoreFlags(op.input).skipSafetyBackup;
      await deps.prisma.operation.update({
        where: { id: op.id },
        data: {
          status: 'completed',
          completedAt: new Date(),
          progress: { percent: 100, stage: 'done' },
          result: {
            restored: Object.fromEntries(
              tables.map((t) => [BACKUP_TABLES.find((b) => b.table === t)?.key ?? t, Number(counts.rows[0]![t])]),
            ),
            safetyBackupId: null,
            safetyBackup: skip ? 'skipped' : 'pending',
            restorePoint: { ...info },
            sessionsCleared: true,
            recovered: 'the worker stopped after the swap committed; the restore was finished at start-up',
          },
        },
      });
      out.restores.push(op.id);
    } else {
      const restoreId = undoInputSchema.safeParse(op.input).data?.restoreOperationId;
      const restore = restoreId ? await deps.prisma.operation.findUnique({ where: { id: restoreId } }) : null;
      if (!restore?.restorePoint || points.some((p) => p.schema === restore.restorePoint)) continue;
      await markDropped(deps.prisma, restore.restorePoint);
      await deps.prisma.operation.update({
        where: { id: op.id },
        data: {
          status: 'completed',
          completedAt: new Date(),
          progress: { percent: 100, stage: 'done' },
          result: {
            restoreOperationId: restore.id,
            sessionsCleared: true,
            recovered: 'the worker stopped after the undo committed; it was finished at start-up',
          },
        },
      });
      out.undos.push(op.id);
    }
  }
  return out;
}

/** The restore-point sweep runs hourly, at a quarter past. */
export const RESTORE_POINTS_PATTERN = '15 * * * *';

/**
 * Upserts the hourly restore-point sweep (fixed id {@link RESTORE_POINTS_SCHEDULER_ID}); idempotent, so every
 * worker calls it at start-up. `pattern` replaces the hourly one (tests).
 */
export async function syncRestorePointsScheduler(
  queue: Pick<Queue, 'upsertJobScheduler'>,
  opts: { timezone: string; pattern?: string },
): Promise<void> {
  await queue.upsertJobScheduler(
    RESTORE_POINTS_SCHEDULER_ID,
    { pattern: opts.pattern ?? RESTORE_POINTS_PATTERN, tz: opts.timezone },
    {
      name: 'backup.restore-points',
      data: { action: 'sweep' },
      opts: { ...JOBS['backup.restore-points'].options, ...RETENTION },
    },
  );
}
