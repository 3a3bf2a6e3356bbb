import { session } from './session.js';

/** A refusal from the API: its stable code, its message for people, and details when it has them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

interface Envelope<T> {
  success: boolean;
  data: T;
  message?: string;
  error?: { code: string; message: string; details?: unknown };
}

function authHeaders(): Record<string, string> {
  const { token } = session.get();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * Turns an error answer into an ApiError. A 401 ends the session (the login screen then says why: a restore
 * or reset logs everyone out); a PASSWORD_CHANGE_REQUIRED sends the user to the password form.
 */
async function failure(res: Response, path: string): Promise<ApiError> {
  let body: Envelope<unknown> | null = null;
  try {
    body = (await res.json()) as Envelope<unknown>;
  } catch {
    /* not JSON: a proxy's page, say */
  }
  const err = new ApiError(
    res.status,
    body?.error?.code ?? `HTTP_${res.status}`,
    body?.error?.message ?? `${res.status} ${res.statusText}`,
    body?.error?.details,
  );
  if (
    res.status === 401 &&
    !path.startsWith('/api/auth/login') &&
    !path.startsWith('/api/auth/reset-claim') &&
    session.get().token
  ) {
    session.end('Your session ended (a restore or reset logs everyone out, and sessions expire). Log in again.');
  }
  if (err.code === 'PASSWORD_CHANGE_REQUIRED') session.mustChangePassword();
  return err;
}

/** Calls the API with the session's bearer token; resolves `{ data, message }` of a success envelope. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<{ data: T; message?: string }> {
  const isForm = body instanceof FormData;
  const res = await fetch(path, {
    method,
    headers: { ...authHeaders(), ...(body === undefined || isForm ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!res.ok) throw await failure(res, path);
  const env = (await res.json()) as Envelope<T>;
  return { data: env.data, message: env.message };
}

export const get = <T>(path: string) => call<T>('GET', path).then((r) => r.data);

/** What a person reads of a failure: the message (with the code of an API refusal) and its problem list. */
export interface Failure {
  message: string;
  code: string | null;
  problems: Problem[];
}

/**
 * Any thrown value as a {@link Failure}. An API refusal's `details` come in two shapes: `{ problems: [...] }`
 * (restore refusals, as the job status carries them) and `[{ path, message }]` (request validation); both
 * become problems, never raw JSON. Anything else in `details` is left out: the message already says it.
 */
export function toFailure(err: unknown): Failure {
  if (!(err instanceof ApiError))
    return { message: err instanceof Error ? err.message : String(err), code: null, problems: [] };
  return { message: err.message, code: err.code, problems: problemsOf(err.details) };
}

function problemsOf(details: unknown): Problem[] {
  const list = Array.isArray(details)
    ? details
    : details && typeof details === 'object' && Array.isArray((details as { problems?: unknown }).problems)
      ? (details as { problems: unknown[] }).problems
      : [];
  return list.flatMap((d): Problem[] => {
    if (!d || typeof d !== 'object') return [];
    const p = d as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const problem = text(p.problem) ?? text(p.message);
    if (!problem) return [];
    return [
      {
        table: text(p.table),
        row: typeof p.row === 'number' ? p.row : undefined,
        field: text(p.field) ?? text(p.path),
        problem,
        message: text(p.message) ?? problem,
      },
    ];
  });
}

/**
 * Downloads a backup file with the bearer token (a plain link cannot carry it) and hands it to the browser as
 * a file. A cloud-only copy answers a redirect to a signed URL, which the browser then opens itself.
 */
export async function download(path: string, fallbackName: string): Promise<void> {
  const res = await fetch(path, { headers: authHeaders(), redirect: 'manual' });
  if (res.type === 'opaqueredirect')
    throw new ApiError(
      302,
      'CLOUD_COPY',
      'This backup is only in the cloud: download it with the CLI or the API (it answers a signed link).',
    );
  if (!res.ok) throw await failure(res, path);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- Shapes the API answers (what the console reads of them) ----

export type JobState = 'queued' | 'running' | 'completed' | 'partial' | 'failed';

export interface Problem {
  table?: string;
  row?: number;
  field?: string;
  problem: string;
  message: string;
}

export interface JobStatus {
  jobId: string;
  kind: string;
  state: JobState;
  progress: {
    percent: number | null;
    stage: string | null;
    table: string | null;
    rows: number | null;
    counts?: Record<string, number> | null;
  };
  result: Record<string, unknown> | null;
  error: string | null;
  problems: Problem[] | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

/** GET /api/backup/restores: one restore, and whether it can still be undone. */
export interface RestoreSummary {
  id: string;
  status: JobState;
  backupId: string | null;
  source: 'backup' | 'upload' | null;
  tables: string[] | null;
  createdAt: string;
  completedAt: string | null;
  undoUntil: string | null;
  undoAvailable: boolean;
  undoRefusal: string | null;
}

export interface VerificationSummary {
  ok: boolean;
  trigger: 'read-back' | 'verify';
  checkedAt: string;
  failed: string[];
  warnings: number;
}

export interface Backup {
  id: string;
  filename: string;
  fileSize: number | null;
  location: 'local' | 'cloud' | 'both';
  type: string;
  status: JobState;
  recordCounts: Record<string, number> | null;
  checksum: string | null;
  createdAt: string;
  completedAt: string | null;
  createdBy: string | null;
  error: string | null;
  labels?: Record<string, string> | null;
  pinned?: boolean;
  pinNote?: string | null;
  pinnedAt?: string | null;
  pinnedBy?: string | null;
  encryptionKeyId?: string | null;
  /** The last read-back or verify, in short (null before the first). */
  verificationSummary?: VerificationSummary | null;
  // Only GET /api/backup/:id carries the whole report.
  verifiedAt?: string | null;
  verification?: VerifyReport | null;
}

/** GET /api/backup/:id: the list's record plus what only the single-record answer carries. */
export interface BackupDetail extends Backup {
  jobId: string | null;
  compressed: boolean;
  formatVersion: string | null;
  schemaVersion: string | null;
  startedAt: string | null;
  durationMs: number | null;
}

/** A verification (read-back right after the write, or verify on demand), as kept on the record. */
export interface VerifyReport {
  ok: boolean;
  checkedAt: string;
  trigger?: 'read-back' | 'verify';
  copies?: { copy: string; ok: boolean; checks: { name: string; ok: boolean; details?: string }[] }[];
  references?: 'checked' | 'skipped';
  invariants?: 'snapshot' | 'file' | 'not-run';
  warnings?: { rule: string; message: string; table: string; count: number; examples: string[] }[];
  problems?: string[];
}

export interface HealthCheck {
  name: string;
  ok: boolean;
  message: string;
  value: number | null;
  limit: number | null;
}

export interface Drill {
  id: string;
  jobId: string | null;
  status: string;
  backupId: string | null;
  rtoSeconds: number | null;
  rowsPerSecond: number | null;
  ok: boolean | null;
  error: string | null;
  createdBy: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** GET /api/backup/restore/:operationId/undo: what an undo would discard, and whether it is possible now. */
export interface UndoPreview {
  operationId: string;
  available: boolean;
  reason: string | null;
  undoUntil: string | null;
  restorePoint: { schema: string | null; bytes: number | null; droppedAt: string | null };
  tables: { table: string; inserted: number; updated: number; deleted: number; written: number }[];
  written: number;
}

/** The result of a `backup.preview` job. */
export interface RestorePreview {
  mode: 'full' | 'selective' | 'entity';
  tables: {
    table: string;
    rowsInFile: number;
    rowsLive: number;
    added: number;
    removed: number;
    changed: number;
    sampleChangedKeys: string[];
  }[];
  addedByDependencies: string[];
  brokenReferences: string[];
  estimatedSeconds: number;
}

/** The result of a whole or selective restore. */
export interface RestoreResult {
  restored: Record<string, number>;
  safetyBackup?: string;
  sessionsCleared?: boolean;
  tables?: string[];
  addedByDependencies?: string[];
  restorePoint?: { bytes: number | null; undoUntil: string | null; droppedAt: string | null } | null;
}

/** The result of an entity restore. */
export interface EntityRestoreResult {
  entityType: string;
  entityId: string;
  inserted: Record<string, number>;
  skippedIdentical: Record<string, number>;
  conflictCount: number;
  conflicts: { table: string; id: string; changedFields: string[] }[];
  parentsRestored: { table: string; id: string }[];
}

/** GET /api/backup/retention/preview: what a prune now would keep and delete, and why. */
export interface RetentionPreview {
  retentionDays: number;
  rules: {
    keepWithinDays?: number;
    keepDaily?: number;
    keepWeekly?: number;
    keepMonthly?: number;
    keepYearly?: number;
    maxTotalSizeMb?: number;
  };
  cutoff: string;
  keptBytes: number;
  overSizeCap: boolean;
  backups: { id: string; fileSize: number | null }[];
  decisions: {
    id: string;
    filename: string;
    type: string;
    status: string;
    fileSize: number | null;
    createdAt: string;
    action: 'keep' | 'delete';
    reasons: string[];
    overridden?: string[];
  }[];
}

export interface Accepted {
  jobId: string;
  statusUrl: string;
  backupId?: string;
  filename?: string;
  operationId?: string;
}

export interface Schedule {
  frequency: 'disabled' | 'daily' | 'weekly' | 'monthly';
  location: 'local' | 'cloud' | 'both';
  retentionDays: number;
  includeAuditLogs: boolean;
  includeSessions: boolean;
  drillFrequency: 'disabled' | 'daily' | 'weekly' | 'monthly';
  keepDaily: number | null;
  keepWeekly: number | null;
  keepMonthly: number | null;
  keepYearly: number | null;
  maxTotalSizeMb: number | null;
  compression: 'gzip' | 'zstd';
  timezone: string;
  lastBackupAt: string | null;
  nextBackupAt: string | null;
  updatedAt: string;
  updatedBy: string | null;
}

export interface Maintenance {
  active: boolean;
  reason: string | null;
  since: string | null;
  jobId: string | null;
}
