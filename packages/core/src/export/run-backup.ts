import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';
import type { Logger } from '@mp/logger';
import type { PgPool, PrismaClient } from '@mp/db';
import { Readable } from 'node:stream';
import { isStorageError, teeStream, type BackupStorage, type StoredObject } from '@mp/storage';
import type { StorageSet } from '../deps.js';
import { FORMAT_VERSION, type BackupOptions } from '../backup-format/tables.js';
import { readRecordStorage, cloudEntry, type RecordStorage } from '../backups/record-storage.js';
import { copiesOf } from '../backups/copies.js';
import { exportSnapshot, type ExportSummary } from './snapshot-export.js';
import { digesting } from '../crypto/sha256.js';
import { compressIfLarge } from './compress.js';
import {
  COMPRESSED_EXTENSIONS,
  COMPRESSIONS,
  type Compression,
  type CompressionLevels,
} from '../backup-format/compression.js';
import { isFailpointArmed, reachFailpoint, type FailpointName } from '../failpoints.js';
import { encryptForStorage, keyForWriting, NO_ENCRYPTION, type EncryptionSettings } from '../crypto/plaintext.js';
import type { InvariantWarning } from '../verify/business-invariants.js';
import { saveReport } from '../verify/verify-backup.js';
import { readBackCopies } from './read-back.js';
import { checkAsWritten, type WrittenCheck } from '../verify/read-copy.js';
import type { JobProgress } from '../job-progress.js';
import { toJsonValue } from '../json-value.js';

export interface BackupRunDeps {
  prisma: PrismaClient;
  pool: PgPool;
  storage: StorageSet;
  logger: Logger;
  settings: CompressionLevels & { compressThresholdBytes: number };
  /** Crash-drill stops (config `FAILPOINTS`); empty in production. */
  failpoints?: readonly FailpointName[];
  /** Keys: every file is encrypted with `current` when set; absent means none (files in clear). */
  encryption?: EncryptionSettings;
}

export interface BackupRunResult {
  backupId: string;
  filename: string;
  status: 'completed' | 'partial';
  fileSize: number;
  checksum: string;
  recordCounts: Record<string, number>;
  durationMs: number;
}

/**
 * A record's stored `options`, read leniently (a flag that is not `true` is off): what to include, and for a
 * pre-restore file the restore point schema to export from instead of the live tables.
 */
const storedOptionsSchema = z
  .object({
    includeAuditLogs: z.boolean().catch(false),
    includeSessions: z.boolean().catch(false),
    schema: z
      .string()
      .regex(/^mp_restore_point_[0-9a-f]+$/)
      .optional()
      .catch(undefined),
    compression: z.enum(COMPRESSIONS).catch('gzip'),
  })
  .catch({ includeAuditLogs: false, includeSessions: false, compression: 'gzip' as const });

/**
 * What {@link exportToLocal} writes: the tables, and the codec for a file past the compression threshold (gzip
 * when absent).
 */
export type ExportOptions = BackupOptions & { schema?: string; compression?: Compression };

/**
 * A record's stored options; `schema` names a restore point to export instead of the live tables
 * (pre-restore files); `compression` is the codec asked for (records written before it existed: gzip).
 */
function readOptions(value: unknown): ExportOptions {
  const { schema, ...options } = storedOptionsSchema.parse(value ?? {});
  return { ...options, ...(schema ? { schema } : {}) };
}

/** `backup_2026-…Z.json` → `backup_2026-…Z`, whatever the stored extension. */
function baseName(filename: string): string {
  return filename.replace(/\.json(\.gz|\.zst)?(\.enc)?$/, '');
}

/** Stored extensions: `.json`, `.json.gz`, `.json.zst`, and `.enc` after any of them for an encrypted file. */
const STORED_EXTENSIONS = ['.json', ...Object.values(COMPRESSED_EXTENSIONS)].flatMap((ext) => [ext, `${ext}.enc`]);

/**
 * Runs (or resumes) the backup described by record `backupId`: exports one consistent snapshot,
 * compresses it past the threshold, stores it locally under a temporary name renamed on success,
 * then uploads it to Cloudinary when the location asks for it.
 *
 * Each step is recorded as it completes, so a retry after a crash or a cloud outage resumes where
 * the previous attempt stopped (an exported file whose checksum is recorded is not exported again).
 * On the last attempt a cloud failure leaves a `both` backup `partial` (the local copy is good);
 * for `cloud` it throws. Then every copy kept is read back from where it was stored and checked
 * (`readBackCopies`); only then is the backup `completed`. A copy failing read-back is removed and
 * makes the backup `partial` (another copy is good) or failed (none is), the reason in `error`
 * naming the copy and the check; a copy that cannot be read at all is retried while attempts remain.
 * The report lands on `verification` / `verifiedAt`, with the business invariants computed in the
 * export's own snapshot as `warnings`. Throws `UnrecoverableError` for what no retry can fix.
 */
export async function runBackup(
  deps: BackupRunDeps,
  backupId: string,
  ctx: { attempt: number; isLastAttempt: boolean; onProgress?: (p: JobProgress) => void },
): Promise<BackupRunResult> {
  const started = Date.now();
  let record = await deps.prisma.backupRecord.findUnique({ where: { id: backupId } });
  if (!record) throw new UnrecoverableError(`Backup record ${backupId} does not exist`);
  if (record.status === 'completed' || record.status === 'partial') return toResult(record, started);
  // The API gave up on this request (e.g. the enqueue timed out and it answered 503), yet the job
  // reached the queue: the admin was told it failed, so it must not run behind their back.
  if (record.status === 'failed')
    throw new UnrecoverableError(`Backup ${backupId} was already marked failed: ${record.error ?? ''}`);
  // Fail closed before any work: with encryption required, no key means no file at all.
  keyForWriting(deps.encryption ?? NO_ENCRYPTION);
  const wantsCloud = record.location === 'cloud' || record.location === 'both';
  if (wantsCloud && !deps.storage.cloud) {
    throw new UnrecoverableError('Cloud storage is not configured (set CLOUDINARY_URL) but this backup asks for it');
  }
  record = await deps.prisma.backupRecord.update({
    where: { id: backupId },
    data: { status: 'running', attempts: ctx.attempt, startedAt: record.startedAt ?? new Date(), error: null },
  });
  let storage = readRecordStorage(record.storage);
  // The invariants PostgreSQL computes in the export's snapshot while the copies are read back.
  let snapshotWarnings: Promise<InvariantWarning[] | undefined> | undefined;
  // The file's content, checked on its way to storage (none when this attempt resumes a file written before).
  let written: Promise<WrittenCheck | null> | undefined;
  let overlapError: unknown;

  // A file left in clear by an attempt before encryption became required is written again, encrypted,
  // so a retried upload never sends clear bytes.
  const clearButRequired = deps.encryption?.required === true && record.encryptionKeyId === null;
  if (!storage.local || !record.checksum || clearButRequired || !(await exists(deps, storage.local.key))) {
    if (clearButRequired && storage.local) await removeLocal(deps, storage);
    // The cloud copy is uploaded while the file is written (the crash drill of a stopped upload uses the upload
    // from the finished file below, where it can stop before the last part).
    const overlap =
      wantsCloud && !storage.cloud && !isFailpointArmed(deps, 'upload.mid-chunk')
        ? (deps.storage.cloud ?? undefined)
        : undefined;
    const exported = await exportToLocal(deps, record.filename, readOptions(record.options), ctx.onProgress, {
      cloud: overlap,
      checkAsWritten: true,
    });
    written = exported.written;
    storage = { ...storage, local: exported.local };
    if (exported.cloud) storage = { ...storage, cloud: cloudEntry(exported.local.key, exported.cloud.location) };
    overlapError = exported.cloudError;
    snapshotWarnings = exported.invariants;
    record = await deps.prisma.backupRecord.update({
      where: { id: backupId },
      data: {
        filename: exported.local.key,
        storage: toJsonValue(storage),
        fileSize: BigInt(exported.bytes),
        checksum: exported.sha256,
        compressed: exported.compressed,
        encryptionKeyId: exported.keyId,
        formatVersion: FORMAT_VERSION,
        schemaVersion: exported.summary.schemaVersion,
        recordCounts: toJsonValue(exported.summary.recordCounts),
      },
    });
  }

  let status: 'completed' | 'partial' = 'completed';
  let error: string | null = null;
  if (wantsCloud && !storage.cloud) {
    try {
      // The upload beside the export failed in this attempt: the next one uploads the finished local file.
      if (overlapError !== undefined) throw overlapError;
      ctx.onProgress?.({ percent: 95, stage: 'uploading' });
      storage = await uploadCopy(deps, storage, Number(record.fileSize ?? 0));
    } catch (err) {
      const reason = describeCloudError(err);
      if (!ctx.isLastAttempt) throw new Error(`Upload to Cloudinary failed, will retry from the local file: ${reason}`);
      if (record.location === 'cloud') {
        await removeLocal(deps, storage);
        throw new UnrecoverableError(`Upload to Cloudinary failed: ${reason}`);
      }
      status = 'partial';
      error = `The local copy is complete but the Cloudinary upload failed: ${reason}`;
    }
  }
  // Read-back: not completed until every copy kept reads back as written. The copies are recorded
  // first, so a retry after an unreadable copy neither exports nor uploads again (a `cloud` backup's
  // local file stays until its cloud copy has passed, for the same reason).
  ctx.onProgress?.({ percent: 97, stage: 'verifying' });
  await deps.prisma.backupRecord.update({ where: { id: backupId }, data: { storage: toJsonValue(storage) } });
  const staging = record.location === 'cloud' ? storage.local : undefined;
  const kept: RecordStorage = staging ? { cloud: storage.cloud } : storage;
  const readBack = await readBackCopies(deps, record, kept, {
    snapshotWarnings,
    keepUnreadable: !ctx.isLastAttempt,
    written: await written,
  });
  if (readBack.unreadable.length > 0 && !ctx.isLastAttempt) {
    await saveReport(deps.prisma, backupId, readBack.report);
    throw new Error(`Read-back failed, will retry: ${readBack.report.problems.join('; ')}`);
  }
  if (staging) await removeLocal(deps, storage);
  storage = readBack.storage;
  if (readBack.failed.length > 0) {
    const left = readBack.leftovers.length > 0 ? ` (could not delete: ${readBack.leftovers.join(', ')})` : '';
    const failures = readBack.failed.map((f) => f.reason).join('; ');
    const reason = `Read-back failed: ${failures}; the failing copy was removed${left}`;
    const good = copiesOf({ storage }).map((c) => c.location);
    if (good.length === 0) {
      await deps.prisma.backupRecord.update({
        where: { id: backupId },
        data: { storage: toJsonValue(storage), cloudinaryUrl: null, cloudinaryAssetId: null },
      });
      await saveReport(deps.prisma, backupId, readBack.report);
      throw new UnrecoverableError(`${reason}; no good copy is left`);
    }
    status = 'partial';
    error = [error, `${reason}; the ${good.join(' and ')} copy is good`].filter(Boolean).join('. ');
  }
  record = await deps.prisma.backupRecord.update({
    where: { id: backupId },
    data: {
      status,
      error,
      storage: toJsonValue(storage),
      cloudinaryUrl: storage.cloud?.url ?? null,
      cloudinaryAssetId: storage.cloud?.assetId ?? null,
      completedAt: new Date(),
      durationMs: Math.round(Date.now() - (record.startedAt?.getTime() ?? started)),
      progress: toJsonValue({ percent: 100, stage: 'done' }),
      verification: toJsonValue(readBack.report),
      verifiedAt: new Date(readBack.report.checkedAt),
    },
  });
  ctx.onProgress?.({ percent: 100, stage: 'done' });
  return toResult(record, started);
}

async function exists(deps: BackupRunDeps, key: string): Promise<boolean> {
  try {
    await deps.storage.local.stat?.(key);
    return true;
  } catch {
    return false;
  }
}

/** Bytes the cloud branch may hold beyond the part being filled, so the export goes on while a part is sent. */
const UPLOAD_SLACK_BYTES = 4 * 1024 * 1024;

/**
 * Exports one consistent snapshot into local storage as `filename` (`.json.gz` or `.json.zst` when
 * compressed, `.enc` added when encrypted); used by runBackup and the pre-migration backup.
 *
 * With `cloud`, the same bytes are uploaded there as they are written (same key), so a cloud backup costs
 * about the export alone. A cloud failure does not stop the local file: it comes back as `cloudError`
 * (the caller retries the upload from the finished file); a local or export failure throws.
 * With `checkAsWritten`, the same bytes are also checked as they are written (`written`, for the read-back):
 * decrypted, decompressed and every row checked while PostgreSQL still builds the next ones.
 */
export async function exportToLocal(
  deps: BackupRunDeps,
  filename: string,
  options: ExportOptions,
  onProgress?: (p: JobProgress) => void,
  opts: { cloud?: BackupStorage; checkAsWritten?: boolean } = {},
): Promise<{
  local: NonNullable<RecordStorage['local']>;
  bytes: number;
  sha256: string;
  compressed: boolean;
  compression: Compression | null;
  keyId: string | null;
  summary: ExportSummary;
  /**
   * The business invariants over the snapshot: PostgreSQL computes them after the file is written,
   * while the caller goes on (reads it back); the connection is released once they are in. Rejects
   * when they fail (marked handled: a caller that gives up first leaves no unhandled rejection).
   */
  invariants: Promise<InvariantWarning[] | undefined>;
  /** The cloud copy, when `cloud` was given and its upload succeeded. */
  cloud?: StoredObject;
  /** Why the upload to `cloud` failed (the local file is complete nonetheless). */
  cloudError?: unknown;
  /** With `checkAsWritten`: the bytes written, hashed and checked on their way (null: a check failed). */
  written?: Promise<WrittenCheck | null>;
}> {
  // A previous attempt killed mid-write left its temporary file; this record owns these names.
  for (const ext of STORED_EXTENSIONS) await deps.storage.local.removeTemporaries?.(`${baseName(filename)}${ext}`);
  const client = await deps.pool.connect();
  let failed: Error | undefined;
  // Once the file is written the client is released when the invariants are in, not here.
  let handedOver = false;
  try {
    const summary: ExportSummary = { recordCounts: {}, schemaVersion: null, timestamp: '' };
    const source = exportSnapshot(
      client,
      options,
      summary,
      (p) =>
        onProgress?.({
          percent: p.totalRows === 0 ? 90 : Math.min(90, Math.floor((p.rows / p.totalRows) * 90)),
          stage: 'exporting',
          table: p.table,
          rows: p.rows,
          counts: p.counts as Record<string, number>,
        }),
      deps,
      { invariants: true, afterStream: true },
    );
    const { compression, stream } = await compressIfLarge(
      source,
      deps.settings.compressThresholdBytes,
      options.compression ?? 'gzip',
      deps.settings,
    );
    // Encrypted after compression (ciphertext does not compress), before the first byte is written anywhere.
    const sealed = encryptForStorage(stream, deps.encryption ?? NO_ENCRYPTION);
    const extension = compression ? COMPRESSED_EXTENSIONS[compression] : '.json';
    const key = `${baseName(filename)}${extension}${sealed.keyId ? '.enc' : ''}`;
    const digest = digesting(sealed.stream);
    let body: Readable = digest.stream;
    let written: Promise<WrittenCheck | null> | undefined;
    if (opts.checkAsWritten) {
      // The check is the branch that may fail alone: the file is written whatever it finds (the read-back then
      // reads the stored copy in full and reports the problem).
      const tee = teeStream(body);
      body = tee.primary;
      written = checkAsWritten(tee.secondary, sealed.keyId !== null, (deps.encryption ?? NO_ENCRYPTION).keyring);
    }
    const { stored, cloudCopy } = await storeFile(deps, key, body, opts.cloud);
    const { sha256, bytes } = digest.result();
    if (stored.location.kind !== 'local') throw new Error('local storage returned a non-local location');
    const settled = summary.settled ?? Promise.resolve();
    handedOver = true;
    const invariants = settled.then(
      () => {
        client.release();
        return summary.warnings;
      },
      (err: Error) => {
        // Inside the snapshot still: closed, not reused.
        client.release(err);
        throw err;
      },
    );
    invariants.catch(() => {});
    return {
      ...cloudCopy,
      local: { key, path: stored.location.path },
      bytes,
      sha256,
      compressed: compression !== null,
      compression,
      keyId: sealed.keyId,
      summary,
      invariants,
      written,
    };
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    // A connection left inside COPY or the snapshot transaction is closed, not reused.
    if (!handedOver) client.release(failed);
  }
}

/** Writes `body` to local storage as `key` and, with `cloud`, uploads the same bytes at the same time. */
async function storeFile(
  deps: BackupRunDeps,
  key: string,
  body: Readable,
  cloud: BackupStorage | undefined,
): Promise<{ stored: StoredObject; cloudCopy: { cloud?: StoredObject; cloudError?: unknown } }> {
  if (!cloud) return { stored: await deps.storage.local.put(key, body), cloudCopy: {} };
  // Crash drill `upload.overlap`: stops once the first part is stored; without the slack, the export stops with
  // it, part way through the file (the slack alone could hold the rest of a small drill file).
  const drill = isFailpointArmed(deps, 'upload.overlap');
  const tee = teeStream(body, drill ? {} : { secondaryHighWaterMark: UPLOAD_SLACK_BYTES });
  const [local, remote] = await Promise.allSettled([
    deps.storage.local.put(key, tee.primary),
    cloud.put(key, tee.secondary, drill ? { afterPart: () => reachFailpoint(deps, 'upload.overlap') } : {}),
  ]);
  if (local.status === 'rejected') {
    // The file is not there, so neither may its cloud copy be (the next attempt exports and uploads both).
    if (remote.status === 'fulfilled') await cloud.delete(key).catch(() => {});
    throw local.reason;
  }
  return {
    stored: local.value,
    cloudCopy: remote.status === 'fulfilled' ? { cloud: remote.value } : { cloudError: remote.reason },
  };
}

async function uploadCopy(deps: BackupRunDeps, storage: RecordStorage, size: number): Promise<RecordStorage> {
  const cloud = deps.storage.cloud!;
  const key = storage.local!.key;
  const opened = await deps.storage.local.open(key);
  const body = isFailpointArmed(deps, 'upload.mid-chunk') ? stopBeforeLastPiece(deps, opened, size) : opened;
  const stored = await cloud.put(key, body, { size });
  return { ...storage, cloud: cloudEntry(key, stored.location) };
}

/**
 * Crash drills: hands the uploader all but the file's last piece, then stops at `upload.mid-chunk` (every part
 * but the last sent).
 */
function stopBeforeLastPiece(deps: BackupRunDeps, body: Readable, size: number): Readable {
  async function* pass(): AsyncGenerator<Buffer> {
    let sent = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (sent + chunk.length >= size) await reachFailpoint(deps, 'upload.mid-chunk');
      sent += chunk.length;
      yield chunk;
    }
  }
  return Readable.from(pass());
}

async function removeLocal(deps: BackupRunDeps, storage: RecordStorage): Promise<void> {
  if (storage.local) await deps.storage.local.delete(storage.local.key);
}

/** A cloud failure as a sentence without credentials (SDK error objects are never passed on). */
function describeCloudError(err: unknown): string {
  if (isStorageError(err)) return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
  return err instanceof Error ? err.message : 'unknown error';
}

function toResult(
  record: {
    id: string;
    filename: string;
    status: string;
    fileSize: bigint | null;
    checksum: string | null;
    recordCounts: unknown;
    durationMs: number | null;
  },
  started: number,
): BackupRunResult {
  return {
    backupId: record.id,
    filename: record.filename,
    status: record.status === 'partial' ? 'partial' : 'completed',
    fileSize: Number(record.fileSize ?? 0),
    checksum: record.checksum ?? '',
    recordCounts: (record.recordCounts ?? {}) as Record<string, number>,
    durationMs: record.durationMs ?? Date.now() - started,
  };
}
