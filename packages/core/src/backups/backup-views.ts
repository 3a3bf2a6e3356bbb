import type { BackupRecord, BackupType } from '@mp/db';
import { summarizeVerification } from '../verify/report.js';
import { readLabels } from './labels.js';
import { readRecordCounts } from './record-storage.js';

/** Backup types as the API shows them (the Prisma enum spells `pre-restore` as `pre_restore`). */
export type BackupTypeName = 'manual' | 'scheduled' | 'pre-restore';
export const toTypeName = (t: BackupType): BackupTypeName => (t === 'pre_restore' ? 'pre-restore' : t);
export const fromTypeName = (t: BackupTypeName): BackupType => (t === 'pre-restore' ? 'pre_restore' : t);

/** The fields of a record that {@link toBackupView} shows: what the list reads of each record. */
export const BACKUP_VIEW_FIELDS = [
  'id',
  'filename',
  'fileSize',
  'location',
  'cloudinaryUrl',
  'type',
  'status',
  'recordCounts',
  'checksum',
  'createdAt',
  'completedAt',
  'createdBy',
  'error',
  'labels',
  'pinned',
  'pinNote',
  'pinnedAt',
  'pinnedBy',
  'encryptionKeyId',
  'verification',
  'verifiedAt',
] as const satisfies readonly (keyof BackupRecord)[];

/** {@link BACKUP_VIEW_FIELDS} of a record; `fileSize` also as node-pg reads a `bigint` (text). */
export type BackupViewSource = Omit<Pick<BackupRecord, (typeof BACKUP_VIEW_FIELDS)[number]>, 'fileSize'> & {
  fileSize: bigint | string | null;
};

/** A backup record as the API shows it. */
export function toBackupView(r: BackupViewSource) {
  return {
    id: r.id,
    filename: r.filename,
    fileSize: r.fileSize === null ? null : Number(r.fileSize),
    location: r.location,
    cloudinaryUrl: r.cloudinaryUrl,
    type: toTypeName(r.type),
    status: r.status,
    recordCounts: readRecordCounts(r.recordCounts),
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
    /** The last read-back or verify, in short; the whole report is on the single-record answer. */
    verificationSummary: summarizeVerification(r.verification, r.verifiedAt),
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
