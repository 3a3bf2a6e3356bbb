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
  const err = new ApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? `${res.status} ${res.statusText}`, body?.error?.details);
  if (res.status === 401 && !path.startsWith('/api/auth/login') && !path.startsWith('/api/auth/reset-claim') && session.get().token) {
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

/**
 * Downloads a backup file with the bearer token (a plain link cannot carry it) and hands it to the browser as
 * a file. A cloud-only copy answers a redirect to a signed URL, which the browser then opens itself.
 */
export async function download(path: string, fallbackName: string): Promise<void> {
  const res = await fetch(path, { headers: authHeaders(), redirect: 'manual' });
  if (res.type === 'opaqueredirect') throw new ApiError(302, 'CLOUD_COPY', 'This backup is only in the cloud: download it with the CLI or the API (it answers a signed link).');
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
  progress: { percent: number | null; stage: string | null; table: string | null; rows: number | null; counts?: Record<string, number> | null };
  result: Record<string, unknown> | null;
  error: string | null;
  problems: Problem[] | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
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
  // Shown when the API has them (labels, pins and verification results arrive with later features).
  labels?: Record<string, string> | null;
  pinned?: boolean;
  pinNote?: string | null;
  verifiedAt?: string | null;
  verification?: { ok?: boolean; checkedAt?: string; message?: string } | null;
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
