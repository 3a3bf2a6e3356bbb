import { randomUUID } from 'node:crypto';
import type { BackupLocation, PgPool } from '@mp/db';
import type { Logger } from '@mp/logger';
import type { Producer } from '@mp/jobs';
import type { StorageSet } from '../deps.js';
import type { Compression } from '../backup-format/compression.js';
import { AppError } from '../errors.js';
import { errorSummary } from '../error-summary.js';
import { ACTIVE_MAINTENANCE_SQL, maintenanceActive } from '../maintenance.js';
import { enqueueWithin } from '../operations/enqueue-within.js';
import { EXCLUSIVE_KINDS, operationInProgress } from '../operations/exclusive-operations.js';
import { withSharedOperationLockOn } from '../operations/operation-lock.js';
import { reachFailpoint, type FailpointName } from '../failpoints.js';
import { backupFilename } from './backup-filename.js';
import type { BackupLabels } from './labels.js';

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
 * Checks and insert as one statement, run holding the `ADMISSION_LOCK` shared: the `queued` record is
 * written only when maintenance is off and no restore, reset or undo ({@link EXCLUSIVE_KINDS}) is queued or
 * running; otherwise nothing is
 * written and the blocking row comes back for the error.
 */
const INSERT_QUEUED_BACKUP_SQL = `
  WITH maintenance AS (${ACTIVE_MAINTENANCE_SQL}),
       exclusive AS (
         SELECT id, kind::text, status::text, "jobId" FROM operations
          WHERE kind IN (${EXCLUSIVE_KINDS.map((k) => `'${k}'`).join(', ')}) AND status IN ('queued', 'running')
            LIMIT 1),
       inserted AS (
         INSERT INTO backup_records (id, "jobId", filename, type, status, location, options, "createdBy",
           "createdAt", "updatedAt", labels)
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
 * written), during maintenance, or while a restore, reset or undo is queued or running (checked under the
 * admission lock). When enqueueing fails the record is marked failed with the reason.
 * The record is written with node-pg (lock, checks and insert in three round trips) rather than a
 * Prisma interactive transaction: this is the API's hot write path and must answer in milliseconds.
 * @throws AppError CLOUD_STORAGE_NOT_CONFIGURED, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, QUEUE_UNAVAILABLE
 */
export async function requestBackup(deps: RequestBackupDeps, input: BackupRequestInput) {
  if (input.location !== 'local' && !deps.storage.cloud) {
    throw new AppError(
      'CLOUD_STORAGE_NOT_CONFIGURED',
      `Location "${input.location}" needs Cloudinary, which is not configured`,
    );
  }
  const now = deps.now?.() ?? new Date();
  const id = randomUUID();
  const filename = backupFilename(now, id);
  const outcome = await withSharedOperationLockOn(deps.pool, async (client) => {
    const { rows } = await client.query<InsertOutcome>({
      name: 'mp-insert-queued-backup',
      text: INSERT_QUEUED_BACKUP_SQL,
      values: [
        id,
        filename,
        input.type,
        input.location,
        JSON.stringify(input.options),
        input.createdBy,
        now,
        JSON.stringify(input.labels ?? {}),
      ],
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
      `UPDATE backup_records SET status = 'failed', error = $2, "completedAt" = now(), "updatedAt" = now() WHERE id ` +
        `= $1`,
      [id, 'Job queue unavailable; the backup was not started'],
    );
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, {
      cause: err,
    });
  }
  return { backupId: id, jobId: id, filename, status: 'queued' as const };
}

/** Why nothing was inserted, in the order the checks had before: maintenance, then a running restore/reset. */
function refusal(o: InsertOutcome): AppError {
  if (!o.inMaintenance && o.operationId && o.operationKind && o.operationStatus) {
    return operationInProgress({
      id: o.operationId,
      kind: o.operationKind,
      status: o.operationStatus,
      jobId: o.operationJobId,
    });
  }
  return maintenanceActive({ reason: o.maintenanceReason, since: o.maintenanceSince, jobId: o.maintenanceJobId });
}
