import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Prisma, type BackupLocation, type BackupRecord, type BackupStatus, type BackupType, type PgPool, type PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import type { Producer } from '@mp/jobs';
import { isStorageError } from '@mp/storage';
import type { StorageSet } from '../deps.js';
import type { Compression } from '../backup-format/compression.js';
import { AppError } from '../errors.js';
import { maintenanceActive } from '../maintenance.js';
import { readRecordStorage } from './record-storage.js';
import { deleteCopies, withoutCopies } from './copies.js';
import { enqueueWithin, errorSummary, operationInProgress, withOperationLockOn } from '../operations/requests.js';
import { reachFailpoint, type FailpointName } from '../failpoints.js';
import { parseLabelFilter, readLabels, type BackupLabels } from './labels.js';

/** Backup types as the API shows them (the Prisma enum spells `pre-restore` as `pre_restore`). */
export type BackupTypeName = 'manual' | 'scheduled' | 'pre-restore';
export const toTypeName = (t: BackupType): BackupTypeName => (t === 'pre_restore' ? 'pre-restore' : t);
export const fromTypeName = (t: BackupTypeName): BackupType => (t === 'pre-restore' ? 'pre_restore' : t);

/**
 * `backup_<ISO time with - for : and .>_<first 8 characters of the record id>.json`, e.g.
 * `backup_2026-11-24T12-00-00-000Z_1f0c9a2b.json`. The id part is what keeps names distinct: concurrent
 * requests often share a millisecond, and two records with one name would write (and prune) one file.
 */
export function backupFilename(at: Date, recordId: string): string {
  return `backup_${at.toISOString().replace(/[:.]/g, '-')}_${recordId.slice(0, 8)}.json`;
}

/** A backup record as the API shows it. */
export function toBackupView(r: BackupRecord) {
  return {
    id: r.id,
    filename: r.filename,
    fileSize: r.fileSize === null ? null : Number(r.fileSize),
    location: r.location,
    cloudinaryUrl: r.cloudinaryUrl,
    type: toTypeName(r.type),
    status: r.status,
    recordCounts: (r.recordCounts ?? null) as Record<string, number> | null,
    checksum: r.checksum,
    createdAt: r.createdAt,
    completedAt: r.completedAt,
    createdBy: r.createdBy,
    error: r.error,
    labels: readLabels(r.labels),
    pinned: r.pinned,
    pinNote: r.pinNote,
    pinnedAt: r.pinnedAt,
    pinnedBy: r.pinnedBy,
    /** The key the stored file is encrypted with; null for a file in clear. */
    encryptionKeyId: r.encryptionKeyId,
  };
}
export type BackupView = ReturnType<typeof toBackupView>;

/** {@link toBackupView} plus the fields only the single-record answer carries. */
export function toBackupDetail(r: BackupRecord) {
  return {
    ...toBackupView(r),
    jobId: r.jobId,
    compressed: r.compressed,
    options: r.options,
    formatVersion: r.formatVersion,
    schemaVersion: r.schemaVersion,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
    verification: r.verification ?? null,
    verifiedAt: r.verifiedAt,
  };
}

interface RequestBackupDeps {
  pool: PgPool;
  producer: Producer;
  storage: StorageSet;
  logger: Logger;
  now?: () => Date;
  /** Crash-drill stops (config `FAILPOINTS`); empty in production. */
  failpoints?: readonly FailpointName[];
}

export interface BackupRequestInput {
  location: BackupLocation;
  /** Stored on the record as given; `compression` is the codec of a file past the threshold. */
  options: { includeAuditLogs: boolean; includeSessions: boolean; compression: Compression };
  createdBy: string;
  type: 'manual';
  /** Free-form labels, already checked by `backupLabelsSchema`. */
  labels?: BackupLabels;
}

/**
 * Checks and insert as one statement, run under the exclusive-operation lock: the `queued` record is
 * written only when maintenance is off and no restore/reset is queued or running; otherwise nothing is
 * written and the blocking row comes back for the error.
 */
const INSERT_QUEUED_BACKUP_SQL = `
  WITH maintenance AS (
         SELECT reason, since, "jobId" FROM maintenance_state WHERE id = 'global' AND active),
       exclusive AS (
         SELECT id, kind::text, status::text, "jobId" FROM operations
          WHERE kind IN ('restore', 'reset') AND status IN ('queued', 'running') LIMIT 1),
       inserted AS (
         INSERT INTO backup_records (id, "jobId", filename, type, status, location, options, "createdBy", "createdAt", "updatedAt", labels)
         SELECT $1, $1, $2, $3::"BackupType", 'queued', $4::"BackupLocation", $5::jsonb, $6, $7, $7, $8::jsonb
          WHERE NOT EXISTS (SELECT 1 FROM maintenance) AND NOT EXISTS (SELECT 1 FROM exclusive)
         RETURNING id)
  SELECT (SELECT id FROM inserted) AS "insertedId", EXISTS (SELECT 1 FROM maintenance) AS "inMaintenance",
         m.reason AS "maintenanceReason", m.since AS "maintenanceSince", m."jobId" AS "maintenanceJobId",
         x.id AS "operationId", x.kind AS "operationKind", x.status AS "operationStatus", x."jobId" AS "operationJobId"
    FROM (SELECT 1) AS one LEFT JOIN maintenance m ON true LEFT JOIN exclusive x ON true`;

interface InsertOutcome {
  insertedId: string | null;
  inMaintenance: boolean;
  maintenanceReason: string | null;
  maintenanceSince: Date | null;
  maintenanceJobId: string | null;
  operationId: string | null;
  operationKind: string | null;
  operationStatus: string | null;
  operationJobId: string | null;
}

/**
 * Accepts a backup: writes a `queued` BackupRecord (jobId = record id) and enqueues `backup.create`
 * with only `{ backupId }`. Refused when cloud storage is asked for but not configured (nothing
 * written), during maintenance, or while a restore/reset is queued or running (checked under the
 * exclusive-operation lock). When enqueueing fails the record is marked failed with the reason.
 * The record is written with node-pg (lock, checks and insert in three round trips) rather than a
 * Prisma interactive transaction: this is the API's hot write path and must answer in milliseconds.
 * @throws AppError CLOUD_STORAGE_NOT_CONFIGURED, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, QUEUE_UNAVAILABLE
 */
export async function requestBackup(deps: RequestBackupDeps, input: BackupRequestInput) {
  if (input.location !== 'local' && !deps.storage.cloud) {
    throw new AppError('CLOUD_STORAGE_NOT_CONFIGURED', `Location "${input.location}" needs Cloudinary, which is not configured`);
  }
  const now = deps.now?.() ?? new Date();
  const id = randomUUID();
  const filename = backupFilename(now, id);
  const outcome = await withOperationLockOn(deps.pool, async (client) => {
    const { rows } = await client.query<InsertOutcome>({
      name: 'mp-insert-queued-backup',
      text: INSERT_QUEUED_BACKUP_SQL,
      values: [id, filename, input.type, input.location, JSON.stringify(input.options), input.createdBy, now, JSON.stringify(input.labels ?? {})],
    });
    return rows[0] as InsertOutcome; // the outer SELECT always yields exactly one row
  });
  if (!outcome.insertedId) throw refusal(outcome);
  // Crash drills: the record is committed, the job not yet queued (start-up reconciliation repairs this).
  await reachFailpoint(deps, 'api.create.after-record');
  try {
    await enqueueWithin(deps.producer, 'backup.create', { backupId: id }, id);
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), backupId: id }, 'enqueue backup.create failed');
    await deps.pool.query(
      `UPDATE backup_records SET status = 'failed', error = $2, "completedAt" = now(), "updatedAt" = now() WHERE id = $1`,
      [id, 'Job queue unavailable; the backup was not started'],
    );
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, { cause: err });
  }
  return { backupId: id, jobId: id, filename, status: 'queued' as const };
}

/** Why nothing was inserted, in the order the checks had before: maintenance, then a running restore/reset. */
function refusal(o: InsertOutcome): AppError {
  if (!o.inMaintenance && o.operationId && o.operationKind && o.operationStatus) {
    return operationInProgress({ id: o.operationId, kind: o.operationKind, status: o.operationStatus, jobId: o.operationJobId });
  }
  return maintenanceActive({ reason: o.maintenanceReason, since: o.maintenanceSince, jobId: o.maintenanceJobId });
}

export interface ListBackupsInput {
  status?: BackupStatus;
  type?: BackupTypeName;
  /** `key:value` or `key` (see `parseLabelFilter`). */
  label?: string;
  pinned?: boolean;
  limit: number;
  cursor?: string;
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(cursor: string): { ts: string; id: string } {
  const [ts, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!ts || !id || !CURSOR_TIME.test(ts) || id.length > 64) {
    throw new AppError('VALIDATION_ERROR', 'Invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned' }]);
  }
  return { ts, id };
}

/**
 * One page of records, newest first (createdAt desc, id desc), with an opaque keyset cursor.
 * The page boundary is computed in SQL at microsecond precision: JavaScript dates would round
 * `createdAt` to milliseconds and skip or repeat rows that share one.
 * @throws AppError VALIDATION_ERROR for a cursor this API did not return
 */
export async function listBackups(deps: { prisma: PrismaClient }, input: ListBackupsInput) {
  const conds: Prisma.Sql[] = [];
  if (input.status) conds.push(Prisma.sql`status = ${input.status}::"BackupStatus"`);
  if (input.type) conds.push(Prisma.sql`type = ${input.type}::"BackupType"`);
  if (input.label !== undefined) {
    const filter = parseLabelFilter(input.label);
    conds.push(
      filter.value === undefined
        ? Prisma.sql`jsonb_exists(labels, ${filter.key})`
        : Prisma.sql`labels @> ${JSON.stringify({ [filter.key]: filter.value })}::jsonb`,
    );
  }
  if (input.pinned !== undefined) conds.push(Prisma.sql`pinned = ${input.pinned}`);
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    conds.push(Prisma.sql`("createdAt", id) < (${c.ts}::timestamptz, ${c.id})`);
  }
  const where = conds.length ? Prisma.sql`WHERE ${Prisma.join(conds, ' AND ')}` : Prisma.empty;
  const page = await deps.prisma.$queryRaw<{ id: string; ts: string }[]>`
    SELECT id, to_char("createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
    FROM backup_records ${where}
    ORDER BY "createdAt" DESC, id DESC
    LIMIT ${input.limit + 1}`;
  const rows = page.slice(0, input.limit);
  const records = await deps.prisma.backupRecord.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
  const byId = new Map(records.map((r) => [r.id, r]));
  const items = rows.flatMap((r) => {
    const rec = byId.get(r.id);
    return rec ? [toBackupView(rec)] : []; // deleted between the two reads
  });
  const last = rows.at(-1);
  const nextCursor = page.length > input.limit && last ? Buffer.from(`${last.ts}|${last.id}`).toString('base64url') : null;
  return { items, nextCursor };
}

/** @throws AppError BACKUP_NOT_FOUND */
export async function getBackup(deps: { prisma: PrismaClient }, input: { id: string }): Promise<BackupRecord> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: input.id } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${input.id} not found`);
  return record;
}

export type BackupDownload =
  | { kind: 'file'; stream: Readable; size: number; filename: string; contentType: string; checksum: string | null }
  | { kind: 'redirect'; url: string };

/**
 * Where to get a usable backup's bytes: the local copy as a stream (preferred), else an expiring
 * signed URL of the cloud copy. Keys come from the record; the storage drivers refuse any key that
 * is not a flat file name, so a tampered record cannot reach outside the backup folder.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, BACKUP_FILE_MISSING, CLOUD_STORAGE_NOT_CONFIGURED
 */
export async function openBackupDownload(
  deps: { prisma: PrismaClient; storage: StorageSet; logger: Logger },
  input: { id: string; urlTtlSeconds: number },
): Promise<BackupDownload> {
  const record = await getBackup(deps, input);
  if (record.status !== 'completed' && record.status !== 'partial') {
    throw new AppError('BACKUP_NOT_READY', `Backup ${record.id} is ${record.status}; it cannot be downloaded yet`);
  }
  const copies = readRecordStorage(record.storage);
  const localKey = copies.local?.key ?? null;
  const cloudKey = copies.cloud?.key ?? null;
  if (localKey) {
    try {
      const local = deps.storage.local;
      const size = local.stat ? (await local.stat(localKey)).size : Number(record.fileSize ?? 0);
      const stream = await local.open(localKey);
      // Served as stored: an encrypted file stays encrypted (decrypt with the key its header names).
      const encrypted = record.encryptionKeyId !== null || localKey.endsWith('.enc');
      // The stored name says the codec (`.json.gz`, `.json.zst`): both are written under these names only.
      const zst = !encrypted && localKey.endsWith('.zst');
      const gz = !encrypted && !zst && (record.compressed || localKey.endsWith('.gz'));
      const base = record.filename.replace(/[^A-Za-z0-9._-]/g, '_');
      return {
        kind: 'file',
        stream,
        size,
        filename: gz && !base.endsWith('.gz') ? `${base}.gz` : zst && !base.endsWith('.zst') ? `${base}.zst` : encrypted && !base.endsWith('.enc') ? `${base}.enc` : base,
        contentType: encrypted ? 'application/octet-stream' : zst ? 'application/zstd' : gz ? 'application/gzip' : 'application/json',
        checksum: record.checksum?.replace(/^sha256[:=]/, '') ?? null,
      };
    } catch (err) {
      if (!isStorageError(err) || err.code === 'STORAGE_CLOUD_ERROR') throw err;
      deps.logger.warn({ backupId: record.id, code: err.code }, 'local backup copy unusable');
      if (!cloudKey) throw new AppError('BACKUP_FILE_MISSING', `The file of backup ${record.id} is missing from local storage`);
    }
  }
  if (!cloudKey) throw new AppError('BACKUP_FILE_MISSING', `Backup ${record.id} has no stored copy`);
  if (!deps.storage.cloud?.signedUrl) {
    throw new AppError('CLOUD_STORAGE_NOT_CONFIGURED', 'This backup is only in Cloudinary, which is not configured');
  }
  return { kind: 'redirect', url: deps.storage.cloud.signedUrl(cloudKey, input.urlTtlSeconds) };
}

/**
 * Deletes every stored copy, then the record. A copy already gone counts as deleted. When a copy
 * cannot be deleted the record is kept (with the reason in `error`) so nothing is orphaned.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_IN_PROGRESS, STORAGE_ERROR
 */
export async function deleteBackup(
  deps: { prisma: PrismaClient; storage: StorageSet; logger: Logger },
  input: { id: string },
): Promise<void> {
  const record = await getBackup(deps, input);
  if (record.status === 'queued' || record.status === 'running') {
    throw new AppError('BACKUP_IN_PROGRESS', `Backup ${record.id} is ${record.status}; wait for it to finish`);
  }
  const outcome = await deleteCopies(deps, record);
  if (outcome.error) {
    // Keep the record (nothing is orphaned), minus the copies that did go, with the reason.
    await deps.prisma.backupRecord.update({
      where: { id: record.id },
      data: { error: `Delete failed: ${outcome.error}`, storage: withoutCopies(record.storage, outcome.removed) },
    });
    throw new AppError('STORAGE_ERROR', `A stored copy could not be deleted; the record was kept (${outcome.error})`);
  }
  const { count } = await deps.prisma.backupRecord.deleteMany({ where: { id: record.id } });
  if (count === 0) throw new AppError('BACKUP_NOT_FOUND', `Backup ${record.id} not found`);
}
