import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { UnrecoverableError } from '@mp/jobs';
import { readAppliedMigrations } from '../backup-format/catalog.js';
import { readRecordStorage } from '../backups/record-storage.js';
import { AppError } from '../errors.js';
import type { BackupRunDeps, JobProgress } from '../export/run-backup.js';
import { takeSafetyBackup, withExclusiveMaintenance } from './exclusive.js';
import { replaceTables } from './replace.js';
import { stageFile } from './stage.js';
import { buildTypedTables } from './typed.js';

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

type Source = { kind: 'backup'; backupId: string } | { kind: 'file'; path: string };

function readInput(input: unknown): { source: Source; skipSafetyBackup: boolean } {
  const v = (input ?? {}) as { source?: Record<string, unknown>; skipSafetyBackup?: unknown };
  const s = v.source ?? {};
  let source: Source;
  if (s.kind === 'backup' && typeof s.backupId === 'string') source = { kind: 'backup', backupId: s.backupId };
  else if (s.kind === 'file' && typeof s.path === 'string') source = { kind: 'file', path: s.path };
  else throw new UnrecoverableError('The restore operation names no usable source');
  return { source, skipSafetyBackup: v.skipSafetyBackup === true };
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

/**
 * Restores the file named by operation `operationId`, all or nothing (DESIGN §5):
 * with maintenance on, the file is read once into temporary tables and validated (structure,
 * metadata, counts, types, required fields, checksum); then a safety backup is taken unless
 * skipped; then, in the same transaction, the tables in the file are replaced and every session
 * is deleted. Any error rolls the transaction back, so the database is exactly as before.
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
  const { source, skipSafetyBackup } = readInput(op.input);
  const progress = ctx.onProgress ?? (() => {});
  try {
    return await withExclusiveMaintenance(deps, { jobId: ctx.jobId, operationId, reason: 'restore' }, async (client) => {
      const opened = await openSource(deps, source);
      await client.query('BEGIN');
      try {
        progress({ percent: 1, stage: 'validating' });
        const staged = await stageFile(client, opened.stream, (bytes) => {
          if (opened.size) progress({ percent: Math.min(50, Math.floor((bytes / opened.size) * 50)), stage: 'validating' });
        });
        if (opened.expectedSha256 && staged.sha256 !== opened.expectedSha256) {
          throw new AppError('CHECKSUM_MISMATCH', 'The stored backup file does not match its recorded checksum; it is damaged or was altered, so it was not restored', {
            expected: opened.expectedSha256,
            actual: staged.sha256,
          });
        }
        const typed = await buildTypedTables(client, staged, await readAppliedMigrations(client));
        let safetyBackupId: string | null = null;
        if (!skipSafetyBackup) {
          progress({ percent: 55, stage: 'safety-backup' });
          safetyBackupId = await takeSafetyBackup(deps, { createdBy: op.createdBy });
        }
        progress({ percent: 70, stage: 'replacing' });
        await replaceTables(client, typed, (step) => progress({ percent: 80, stage: 'replacing', table: step }));
        await client.query('COMMIT');
        progress({ percent: 100, stage: 'done' });
        return {
          restored: Object.fromEntries(typed.map((t) => [t.key, t.rows])),
          safetyBackupId,
          sessionsCleared: true,
          sha256: staged.sha256,
          durationMs: Date.now() - started,
        };
      } catch (err) {
        opened.stream.destroy();
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  } finally {
    if (source.kind === 'file') await rm(source.path, { force: true });
  }
}
