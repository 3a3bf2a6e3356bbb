import { z } from 'zod';
import {
  reportedProblemSchema,
  type BackupView,
  type DrillView,
  type RestoreView,
  type HealthReport,
  type JobStatus,
  type UndoPreview,
  type toBackupDetail,
} from '@mp/core';
import { JOB_NAMES, type JobName } from '@mp/jobs';
import { viewOf } from './envelope.js';
import { EXAMPLE_IDS } from './params.js';

/**
 * Response schemas of the /api/backup/* answers, written from the core mappers that build them (types checked by
 * `viewOf`).
 */

const nullableDate = z.date().nullable();
const counts = z.record(z.string(), z.number());
const SEED_COUNTS = { users: 25, unions: 10, unionMembers: 120, loanTypes: 4, loans: 150, repayments: 450 };
const BACKUP_STATUSES = ['queued', 'running', 'completed', 'partial', 'failed'] as const;
const LOCATIONS = ['local', 'cloud', 'both'] as const;

const backupViewShape = {
  id: z.uuid(),
  filename: z.string(),
  fileSize: z.number().nullable().meta({ description: 'Bytes of the stored file' }),
  location: z.enum(LOCATIONS),
  cloudinaryUrl: z.string().nullable(),
  type: z.enum(['manual', 'scheduled', 'pre-restore']),
  status: z.enum(BACKUP_STATUSES),
  recordCounts: counts.nullable().meta({ description: 'Rows per table in the file' }),
  checksum: z.string().nullable().meta({ description: 'SHA-256 of the stored file' }),
  createdAt: z.date(),
  completedAt: nullableDate,
  createdBy: z.string().nullable(),
  error: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  pinned: z.boolean(),
  pinNote: z.string().nullable(),
  pinnedAt: nullableDate,
  pinnedBy: z.string().nullable(),
  encryptionKeyId: z
    .string()
    .nullable()
    .meta({ description: 'The key the stored file is encrypted with; null in clear' }),
  verificationSummary: z
    .object({
      ok: z.boolean(),
      trigger: z.enum(['read-back', 'verify']),
      checkedAt: z.string(),
      failed: z
        .array(z.string())
        .meta({ description: 'The failed checks, one line each (`local copy: checksum: …`), the first five' }),
      warnings: z.number().meta({ description: 'Rows that break business rules (warnings, never failures)' }),
    })
    .nullable()
    .meta({
      description:
        'The last read-back or verify in short (null before the first); GET /api/backup/:id has the whole report',
    }),
};

/** A backup record as lists and pins answer it (core `toBackupView`). */
export const backupViewSchema = viewOf<BackupView>()(backupViewShape);

export const BACKUP_EXAMPLE = {
  id: EXAMPLE_IDS.backup,
  filename: 'backup_2026-11-24T02-00-00-000Z_1f0c9a2b.json',
  fileSize: 48213,
  location: 'local',
  cloudinaryUrl: null,
  type: 'scheduled',
  status: 'completed',
  recordCounts: SEED_COUNTS,
  checksum: '9f2c4e1b0a7d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a',
  createdAt: '2026-11-24T02:00:00.000Z',
  completedAt: '2026-11-24T02:00:03.412Z',
  createdBy: 'scheduler',
  error: null,
  labels: { reason: 'nightly' },
  pinned: false,
  pinNote: null,
  pinnedAt: null,
  pinnedBy: null,
  encryptionKeyId: null,
  verificationSummary: {
    ok: true,
    trigger: 'read-back',
    checkedAt: '2026-11-24T02:00:03.398Z',
    failed: [],
    warnings: 4,
  },
};

/** One backup record with everything the single-record answer adds (core `toBackupDetail`). */
export const backupDetailSchema = viewOf<ReturnType<typeof toBackupDetail>>()({
  ...backupViewShape,
  jobId: z.string().nullable(),
  compressed: z.boolean().meta({ description: 'The stored file is gzip (.json.gz)' }),
  options: z.unknown().meta({ description: 'The options it was taken with: { includeAuditLogs, includeSessions }' }),
  formatVersion: z.string().nullable(),
  schemaVersion: z.string().nullable().meta({ description: 'The last migration of the database it was taken from' }),
  startedAt: nullableDate,
  durationMs: z.number().nullable(),
  verification: z.unknown().meta({
    description: 'The last verification report (read-back or on demand): { ok, checks, warnings, … }, or null',
  }),
  verifiedAt: nullableDate,
});

export const BACKUP_DETAIL_EXAMPLE = {
  ...BACKUP_EXAMPLE,
  jobId: 'repeat:mp-backup-schedule:1795485600000',
  compressed: false,
  options: { includeAuditLogs: false, includeSessions: false },
  formatVersion: '1.1',
  schemaVersion: '20261201084316_trust_protection_undo',
  startedAt: '2026-11-24T02:00:00.120Z',
  durationMs: 3292,
  verification: {
    ok: true,
    trigger: 'read-back',
    copies: [
      {
        copy: 'local',
        ok: true,
        checks: [
          { name: 'checksum', ok: true },
          { name: 'counts', ok: true, details: '759 rows in 6 tables' },
        ],
      },
    ],
    problems: [],
    warnings: [],
    checkedAt: '2026-11-24T02:00:03.500Z',
  },
  verifiedAt: '2026-11-24T02:00:03.500Z',
};

const cursor = z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page' });

export const backupListSchema = z.object({ items: z.array(backupViewSchema), nextCursor: cursor });

const drillViewSchema = viewOf<DrillView>()({
  id: z.uuid(),
  jobId: z.string().nullable(),
  status: z.string(),
  backupId: z.string().nullable(),
  rtoSeconds: z
    .number()
    .nullable()
    .meta({ description: 'Recovery time: seconds from the drill start to a usable (restored) database' }),
  rowsPerSecond: z.number().nullable(),
  ok: z.boolean().nullable().meta({ description: 'Null until the drill compared its tables' }),
  error: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});

export const drillListSchema = z.object({ items: z.array(drillViewSchema), nextCursor: cursor });

export const DRILL_EXAMPLE = {
  id: EXAMPLE_IDS.operation,
  jobId: EXAMPLE_IDS.operation,
  status: 'completed',
  backupId: EXAMPLE_IDS.backup,
  rtoSeconds: 4.2,
  rowsPerSecond: 181.4,
  ok: true,
  error: null,
  createdBy: 'admin',
  createdAt: '2026-11-24T03:00:00.000Z',
  completedAt: '2026-11-24T03:00:04.200Z',
};

const restoreViewSchema = viewOf<RestoreView>()({
  id: z.uuid(),
  jobId: z.string().nullable(),
  status: z.string(),
  backupId: z.string().nullable().meta({ description: 'The stored backup restored; null for an uploaded file' }),
  source: z.enum(['backup', 'upload']).nullable(),
  tables: z
    .array(z.string())
    .nullable()
    .meta({ description: 'The tables a selective restore asked for; null for a whole restore' }),
  error: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  restorePoint: z.object({
    schema: z.string().nullable(),
    bytes: z.number().nullable(),
    droppedAt: z.string().nullable(),
  }),
  undoUntil: z.string().nullable(),
  undoAvailable: z
    .boolean()
    .meta({ description: 'Whether POST /api/backup/restore/:operationId/undo would be accepted now' }),
  undoRefusal: z.string().nullable().meta({ description: 'Why it cannot be undone now; null when it can' }),
});

export const restoreListSchema = z.object({ items: z.array(restoreViewSchema), nextCursor: cursor });

export const RESTORE_EXAMPLE = {
  id: EXAMPLE_IDS.operation,
  jobId: EXAMPLE_IDS.operation,
  status: 'completed',
  backupId: EXAMPLE_IDS.backup,
  source: 'backup',
  tables: null,
  error: null,
  createdBy: 'admin',
  createdAt: '2026-11-24T09:00:00.000Z',
  completedAt: '2026-11-24T09:00:03.100Z',
  restorePoint: {
    schema: `mp_restore_point_${EXAMPLE_IDS.operation.replaceAll('-', '').slice(0, 16)}`,
    bytes: 1_245_184,
    droppedAt: null,
  },
  undoUntil: '2026-11-25T09:00:03.100Z',
  undoAvailable: true,
  undoRefusal: null,
};

/** A job's state (core `getJobStatus`): the answer polled after every 202. */
export const jobStatusSchema = viewOf<JobStatus>()({
  jobId: z.string(),
  kind: z.enum(JOB_NAMES as [JobName, ...JobName[]]),
  state: z.enum(BACKUP_STATUSES),
  progress: z
    .object({
      percent: z.number().nullable(),
      stage: z.string().nullable(),
      table: z.string().nullable(),
      rows: z.number().nullable().meta({ description: 'Rows done so far, all tables together' }),
      counts: counts
        .nullable()
        .meta({ description: "A backup's rows per table, in export order (null for other jobs)" }),
    })
    .meta({ description: 'Live while the job runs' }),
  result: z.unknown().meta({
    description:
      'What a finished job produced, by kind: a backup `{ backupId, filename, fileSize, checksum, recordCounts, ' +
      'location, downloadUrl }`; ' +
      'a restore `{ sha256, restored: { table: rows }, durationMs, restorePoint: { schema, bytes, undoUntil, ' +
      'droppedAt }, safetyBackup, safetyBackupId, sessionsCleared }`; ' +
      'a preview, drill, verify, reset or undo its report. Null until then, and for a failed job.',
  }),
  error: z.string().nullable().meta({ description: 'One line: why a failed job failed' }),
  problems: z.array(reportedProblemSchema).nullable().meta({
    description: 'A refused restore: what is wrong with the file, where (`data.loans[12].principal: …`); else null',
  }),
  attempts: z.number(),
  createdAt: z.date(),
  startedAt: nullableDate,
  completedAt: nullableDate,
});

export const JOB_EXAMPLE = {
  jobId: EXAMPLE_IDS.backup,
  kind: 'backup.create',
  state: 'completed',
  progress: { percent: 100, stage: 'done', table: null, rows: 759, counts: SEED_COUNTS },
  result: {
    backupId: EXAMPLE_IDS.backup,
    filename: BACKUP_EXAMPLE.filename,
    fileSize: 48213,
    checksum: BACKUP_EXAMPLE.checksum,
    recordCounts: SEED_COUNTS,
    location: 'local',
    downloadUrl: `/api/backup/download/${EXAMPLE_IDS.backup}`,
  },
  error: null,
  problems: null,
  attempts: 1,
  createdAt: '2026-11-24T12:00:00.000Z',
  startedAt: '2026-11-24T12:00:00.050Z',
  completedAt: '2026-11-24T12:00:03.412Z',
};

/** Backup health (core `checkBackupHealth`). */
export const healthReportSchema = viewOf<HealthReport>()({
  healthy: z.boolean(),
  checks: z.array(
    z.object({
      name: z.enum(['backup_age', 'scheduled_run', 'drill', 'backup_size', 'storage_total', 'read_back']),
      ok: z.boolean(),
      message: z.string(),
      value: z.number().nullable().meta({ description: 'In the unit the message names (seconds, bytes or a count)' }),
      limit: z.number().nullable(),
    }),
  ),
});

/** What undoing a restore would discard (core `previewUndo`). */
export const undoPreviewSchema = viewOf<UndoPreview>()({
  operationId: z.uuid(),
  available: z.boolean().meta({ description: 'Whether POST …/undo would be accepted now' }),
  reason: z.string().nullable().meta({ description: 'Why not' }),
  undoUntil: nullableDate,
  restorePoint: z.object({ schema: z.string().nullable(), bytes: z.number().nullable(), droppedAt: nullableDate }),
  tables: z
    .array(
      z.object({
        table: z.string(),
        inserted: z.number(),
        updated: z.number(),
        deleted: z.number(),
        written: z.number(),
      }),
    )
    .meta({ description: 'Per table, the rows written since the restore: an undo discards them' }),
  written: z.number(),
});

export const UNDO_PREVIEW_EXAMPLE = {
  operationId: EXAMPLE_IDS.operation,
  available: true,
  reason: null,
  undoUntil: '2026-11-25T12:00:00.000Z',
  restorePoint: { schema: 'mp_restore_point_7d9f0c1e4b8a4c52', bytes: 1204224, droppedAt: null },
  tables: [{ table: 'loans', inserted: 2, updated: 1, deleted: 0, written: 3 }],
  written: 3,
};
