import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { enterMaintenance, exitMaintenance } from '../maintenance.js';
import { AppError } from '../errors.js';
import { LIVE_TABLES_LOCK } from '../operations/advisory-locks.js';
import { releaseLiveTablesLock } from '../operations/release-live-tables-lock.js';
import { runBackup, type BackupRunDeps } from '../export/run-backup.js';
import type { JobProgress } from '../job-progress.js';
import { tryLockForSession } from '../sql/dialect.js';

/** How long a restore or reset waits for the live-tables lock before saying another one holds it. */
const LOCK_GRACE_MS = 3_000;

/**
 * Tries the {@link LIVE_TABLES_LOCK} for `graceMs`. A failed run gives the lock back before closing its
 * connection ({@link releaseLiveTablesLock}); the grace is the second line of defence, for a connection that
 * could not answer in time and was closed holding it (PostgreSQL frees it once that backend has exited).
 */
async function lockWithinGrace(client: pg.PoolClient, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    if (await tryLockForSession(client, LIVE_TABLES_LOCK)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `fn` on a dedicated connection that holds the {@link LIVE_TABLES_LOCK}, with maintenance
 * mode on. Maintenance is turned off afterwards whatever happens (a crash leaves it on; the worker
 * clears it at start-up). The lock is given back before the connection goes (closed when `fn` failed),
 * and dies with the connection, so a killed worker never leaves it held.
 * `lockGraceMs` (default 3 s): how long to wait for a lock another run still holds before refusing.
 * @throws AppError OPERATION_IN_PROGRESS when another worker is running a restore or reset
 */
export async function withExclusiveMaintenance<T>(
  deps: Pick<BackupRunDeps, 'prisma' | 'pool'>,
  input: { jobId: string; operationId: string; reason: string; lockGraceMs?: number },
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await deps.pool.connect();
  let locked = false;
  let broken: Error | undefined;
  try {
    locked = await lockWithinGrace(client, input.lockGraceMs ?? LOCK_GRACE_MS);
    if (!locked) throw new AppError('OPERATION_IN_PROGRESS', 'Another restore or reset is running on another worker');
    await enterMaintenance(deps.prisma, { reason: input.reason, jobId: input.jobId, operationId: input.operationId });
    try {
      return await fn(client);
    } finally {
      await exitMaintenance(deps.prisma, { jobId: input.jobId });
    }
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    // A failed run may leave the connection mid-transaction or mid-COPY: closed rather than reused.
    if (locked) await releaseLiveTablesLock(client, broken);
    else client.release(broken);
  }
}

/**
 * Takes a full local backup (type `pre-restore`, audit logs and sessions included) of the database
 * as it is now, before a restore or reset replaces it. Returns the new record's id.
 */
export async function takeSafetyBackup(
  deps: BackupRunDeps,
  input: { createdBy: string | null; onProgress?: (p: JobProgress) => void },
): Promise<string> {
  const id = randomUUID();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await deps.prisma.backupRecord.create({
    data: {
      id,
      filename: `pre-restore_${stamp}.json`,
      type: 'pre_restore',
      status: 'queued',
      location: 'local',
      options: { includeAuditLogs: true, includeSessions: true },
      createdBy: input.createdBy,
    },
  });
  try {
    await runBackup(deps, id, { attempt: 1, isLastAttempt: true, onProgress: input.onProgress });
  } catch (err) {
    await deps.prisma.backupRecord.update({
      where: { id },
      data: { status: 'failed', error: `Safety backup failed: ${(err as Error).message}`, completedAt: new Date() },
    });
    throw err;
  }
  return id;
}
