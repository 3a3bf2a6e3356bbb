import type { Logger } from '@mp/logger';
import type { BackupRecord, PgPool, PrismaClient } from '@mp/db';
import type { Job } from 'bullmq';
import { JOBS, QUEUES, type JobName, type Producer } from '@mp/jobs';
import { AppError } from './errors.js';
import { errorSummary } from './error-summary.js';
import { storedProgressSchema } from './job-progress.js';
import { problemListSchema, type ReportedProblem } from './restore/problems.js';

export type JobState = 'queued' | 'running' | 'completed' | 'partial' | 'failed';

export interface JobStatusProgress {
  percent: number | null;
  stage: string | null;
  table: string | null;
  /** Rows done so far, all tables together. */
  rows: number | null;
  /** A backup's rows per table, in export order (null for other jobs): with `table` and `rows`, one bar per table. */
  counts: Record<string, number> | null;
}

export interface JobStatus {
  jobId: string;
  kind: JobName;
  state: JobState;
  progress: JobStatusProgress;
  /** What a finished job produced; null until then, and for a failed job. */
  result: unknown;
  /** One line saying why a failed job failed (or why the last attempt failed, while a retry waits). */
  error: string | null;
  /** Why a failed restore refused its file, where and what (`data.loans[12].principal: …`); null otherwise. */
  problems: ReportedProblem[] | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

/** A finished backup job's result (`backup.create`, `backup.scheduled`): ids only, no HTTP paths. */
export interface BackupJobResult {
  backupId: string;
  filename: string;
  fileSize: number | null;
  checksum: string | null;
  recordCounts: unknown;
  location: string;
}

/** Normalises whatever a handler reported (`job.updateProgress(number | object)`) to one shape. */
export function normaliseProgress(raw: unknown, state: JobState): JobStatusProgress {
  const done = state === 'completed' || state === 'partial';
  if (typeof raw === 'number') return { percent: raw, stage: null, table: null, rows: null, counts: null };
  const p = storedProgressSchema.parse(raw);
  return {
    percent: p.percent ?? (done ? 100 : state === 'queued' ? 0 : null),
    stage: p.stage ?? (done ? 'done' : null),
    table: p.table ?? null,
    rows: p.rows ?? null,
    counts: p.counts && Object.keys(p.counts).length > 0 ? p.counts : null,
  };
}

/**
 * What a job status needs of a backup record, as node-pg returns it: `fileSize` (bigint) as a string, and
 * `type` as stored (`pre-restore`, where Prisma says `pre_restore`).
 */
type BackupJobRow = Pick<
  BackupRecord,
  'id' | 'jobId' | 'status' | 'progress' | 'filename' | 'checksum' | 'recordCounts' | 'location' | 'error' | 'attempts'
> &
  Pick<BackupRecord, 'createdAt' | 'startedAt' | 'completedAt'> & { type: string; fileSize: string | null };

/**
 * The backup record behind a job id (its own id, or the BullMQ id it was enqueued under). Status polls are
 * the API's most frequent request, so this is one named prepared statement on node-pg: Prisma's `findFirst`
 * costs about four times the CPU.
 */
async function findBackupJob(pool: PgPool, jobId: string): Promise<BackupJobRow | undefined> {
  const { rows } = await pool.query<BackupJobRow>({
    name: 'mp-backup-job-status',
    text: `SELECT id, "jobId", type::text, status::text, progress, filename, "fileSize"::text, checksum, "recordCounts",
                  location::text, error, attempts, "createdAt", "startedAt", "completedAt"
             FROM backup_records WHERE id = $1 OR "jobId" = $1 LIMIT 1`,
    values: [jobId],
  });
  return rows[0];
}

/**
 * The state of a job by id, from its PostgreSQL row (BackupRecord, else Operation), so it still answers
 * after BullMQ removed the job. While the job is still in Redis its live progress and attempt count
 * win over the stored ones; when Redis cannot be reached the stored values are used.
 * @throws AppError JOB_NOT_FOUND
 */
export async function getJobStatus(
  deps: { prisma: PrismaClient; pool: PgPool; producer: Producer; logger: Logger },
  input: { jobId: string },
): Promise<JobStatus> {
  const { jobId } = input;
  // Most polls are for a running backup: ask Redis for its live state at the same time as PostgreSQL
  // for its row, so the poll costs one round trip's wait instead of two.
  const early = deps.producer.queue(QUEUES.backup).getJob(jobId);
  early.catch(() => {}); // awaited (and its error logged) in mergeLive, or not needed
  const backup = await findBackupJob(deps.pool, jobId);
  let status: JobStatus;
  if (backup) {
    const kind: JobName = backup.type === 'scheduled' ? 'backup.scheduled' : 'backup.create';
    const done = backup.status === 'completed' || backup.status === 'partial';
    status = {
      jobId: backup.jobId ?? backup.id,
      kind,
      state: backup.status,
      progress: normaliseProgress(backup.progress, backup.status),
      result: done
        ? ({
            backupId: backup.id,
            filename: backup.filename,
            fileSize: backup.fileSize === null ? null : Number(backup.fileSize),
            checksum: backup.checksum,
            recordCounts: backup.recordCounts,
            location: backup.location,
          } satisfies BackupJobResult)
        : null,
      error: backup.error,
      problems: null,
      attempts: backup.attempts,
      createdAt: backup.createdAt,
      startedAt: backup.startedAt,
      completedAt: backup.completedAt,
    };
  } else {
    const op = await deps.prisma.operation.findFirst({ where: { OR: [{ id: jobId }, { jobId }] } });
    if (!op) throw new AppError('JOB_NOT_FOUND', `Job ${jobId} not found`);
    status = {
      jobId: op.jobId ?? op.id,
      kind: `backup.${op.kind}`,
      state: op.status,
      progress: normaliseProgress(op.progress, op.status),
      // A failed operation's `result` holds its error details (see the worker's `trackOperation`), not a result.
      result: op.status === 'failed' ? null : withRestorePoint(op, hideSecrets(op.result ?? null)),
      error: op.error,
      problems: op.status === 'failed' ? readProblems(op.result) : null,
      attempts: op.attempts,
      createdAt: op.createdAt,
      startedAt: op.startedAt,
      completedAt: op.completedAt,
    };
  }
  return mergeLive(deps, status, { jobId, job: early });
}

/**
 * A restore's result shows its restore point as it is now (size, undo window, dropped or not), read from the
 * Operation row, which housekeeping keeps current; other results pass through.
 */
function withRestorePoint(
  op: {
    kind: string;
    restorePoint: string | null;
    restorePointBytes: bigint | null;
    undoUntil: Date | null;
    restorePointDroppedAt: Date | null;
  },
  result: unknown,
): unknown {
  if (op.kind !== 'restore' || !op.restorePoint || !result || typeof result !== 'object') return result;
  return {
    ...result,
    restorePoint: {
      schema: op.restorePoint,
      bytes: op.restorePointBytes === null ? null : Number(op.restorePointBytes),
      undoUntil: op.undoUntil,
      droppedAt: op.restorePointDroppedAt,
    },
  };
}

/** The problems a failed operation stored, when its details are a problem list (other failures have none). */
function readProblems(stored: unknown): ReportedProblem[] | null {
  const parsed = problemListSchema.safeParse(stored);
  return parsed.success ? parsed.data.problems : null;
}

/**
 * A reset's generated SuperAdmin password never shows in the job status (every admin who could
 * read it was deleted by the reset); it is claimed once with the reset's claim token instead
 * (`claimResetPassword`), which `generatedPasswordPending: true` announces.
 */
function hideSecrets(result: unknown): unknown {
  if (!result || typeof result !== 'object' || !('generatedPassword' in result)) return result;
  const { generatedPassword: _hidden, ...rest } = result as Record<string, unknown>;
  return { ...rest, generatedPasswordPending: true };
}

async function mergeLive(
  deps: { producer: Producer; logger: Logger },
  status: JobStatus,
  early: { jobId: string; job: Promise<Job | undefined> },
): Promise<JobStatus> {
  if (status.state !== 'queued' && status.state !== 'running') return status;
  try {
    const queue = JOBS[status.kind].queue;
    const job =
      early.jobId === status.jobId && queue === QUEUES.backup
        ? await early.job
        : await deps.producer.queue(queue).getJob(status.jobId);
    if (!job) return status;
    // BullMQ's default progress is 0: only a reported value is newer than the stored one.
    const reported = typeof job.progress === 'object' || (typeof job.progress === 'number' && job.progress > 0);
    return {
      ...status,
      progress: reported ? normaliseProgress(job.progress, status.state) : status.progress,
      attempts: Math.max(status.attempts, job.attemptsMade),
    };
  } catch (err) {
    deps.logger.warn({ jobId: status.jobId, err: errorSummary(err) }, 'live job progress unavailable');
    return status;
  }
}
