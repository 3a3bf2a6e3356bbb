import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createProducer, QUEUES, type Producer } from '@mp/jobs';
import { BENCH_ADMIN, withClient } from './databases.js';
import { freePort, sleep, startService, type Service } from './processes.js';

export interface Harness {
  adminUrl: string;
  redisUrl: string;
  outDir: string;
  backupDir: string;
  uploadDir: string;
  /** Queue prefix the bench's workers consume. */
  prefix: string;
  password: string;
  profile: boolean;
  log: (m: string) => void;
  /** Live services, stopped by {@link stopAll}. */
  services: Set<Service>;
  producers: Map<string, Producer>;
  /** `--encrypt`: the BACKUP_ENCRYPTION_KEY every worker gets (random per run); null when off. */
  encryptionKey: string | null;
  /** The Cloudinary emulator's URL every service gets (cloud case); null when it does not run. */
  cloudinaryUrl: string | null;
}

export function createHarness(opts: {
  adminUrl: string;
  redisUrl: string;
  outDir: string;
  profile: boolean;
  encrypt?: boolean;
  log: (m: string) => void;
}): Harness {
  const backupDir = path.join(opts.outDir, 'backups');
  const uploadDir = path.join(opts.outDir, 'uploads');
  for (const dir of [backupDir, uploadDir, path.join(opts.outDir, 'logs')]) mkdirSync(dir, { recursive: true });
  return {
    ...opts,
    backupDir,
    uploadDir,
    prefix: `bench${randomBytes(4).toString('hex')}`,
    password: `Bench-${randomBytes(12).toString('base64url')}-9a`,
    services: new Set(),
    producers: new Map(),
    encryptionKey: opts.encrypt ? `bench:${randomBytes(32).toString('base64')}` : null,
    cloudinaryUrl: null,
  };
}

const JWT_SECRET = randomBytes(32).toString('base64url');

function serviceEnv(h: Harness, dbUrl: string, prefix: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: dbUrl,
    REDIS_URL: h.redisUrl,
    QUEUE_PREFIX: prefix,
    BACKUP_DIR: h.backupDir,
    UPLOAD_DIR: h.uploadDir,
    // BENCH_LOG_LEVEL=debug adds per-table timings of the restore to the worker logs.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...(h.encryptionKey ? { BACKUP_ENCRYPTION_KEY: h.encryptionKey, BACKUP_ENCRYPTION_REQUIRED: 'true' } : {}),
    ...(h.cloudinaryUrl ? { CLOUDINARY_URL: h.cloudinaryUrl } : {}),
  };
}

/**
 * `--cpu-prof` flags when profiling: the profiles are written when the process exits (SIGTERM →
 * graceful exit). One folder per process and Node's own file names: every thread (the tsx loader
 * thread too) writes its own profile, and one shared name would let the last writer win.
 */
function profileArgs(h: Harness, name: string): string[] {
  return h.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(h.outDir, 'profiles', name)}`] : [];
}

let counter = 0;
const logFile = (h: Harness, name: string) =>
  path.join(h.outDir, 'logs', `${String(++counter).padStart(2, '0')}-${name}.log`);

/** Starts an API on a free port against `dbUrl` (queue prefix `prefix`, default the bench's). */
export async function startApi(h: Harness, dbUrl: string, name: string, prefix = h.prefix): Promise<Service> {
  const port = await freePort();
  const env = {
    ...serviceEnv(h, dbUrl, prefix),
    JWT_SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOGIN_RATE_LIMIT: '1000',
  };
  const api = await startService('api', {
    env,
    logFile: logFile(h, `api-${name}`),
    port,
    nodeArgs: profileArgs(h, `api-${name}`),
  });
  h.services.add(api);
  return api;
}

/** Starts a fresh worker process against `dbUrl` (so its VmHWM is this measurement's peak). */
export async function startWorker(h: Harness, dbUrl: string, name: string): Promise<Service> {
  const worker = await startService('worker', {
    env: serviceEnv(h, dbUrl, h.prefix),
    logFile: logFile(h, `worker-${name}`),
    nodeArgs: profileArgs(h, `worker-${name}`),
  });
  h.services.add(worker);
  return worker;
}

export async function stopService(h: Harness, s: Service): Promise<void> {
  h.services.delete(s);
  await s.stop();
}

export async function stopAll(h: Harness): Promise<void> {
  for (const s of [...h.services]) await stopService(h, s).catch(() => {});
  for (const p of h.producers.values()) await p.close().catch(() => {});
  h.producers.clear();
}

/** Removes the bench's queues (jobs, schedulers the workers upserted) from Redis; runs after {@link stopAll}. */
export async function obliterateQueues(h: Harness): Promise<void> {
  const producer = createProducer({ redisUrl: h.redisUrl, prefix: h.prefix });
  try {
    for (const name of Object.values(QUEUES)) await producer.queue(name).obliterate({ force: true });
  } finally {
    await producer.close();
  }
}

/** A producer on `prefix` (for reading live job progress and obliterating queues). */
export function producerFor(h: Harness, prefix = h.prefix): Producer {
  let p = h.producers.get(prefix);
  if (!p) {
    p = createProducer({ redisUrl: h.redisUrl, prefix });
    h.producers.set(prefix, p);
  }
  return p;
}

export const baseUrl = (api: Service) => `http://127.0.0.1:${api.port}`;

/** Calls the API; throws with the answer unless the status is `expect`. Returns `data`. */
export async function callApi<T>(
  api: Service,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  opts: { token?: string; body?: unknown; expect?: number } = {},
): Promise<T> {
  const res = await fetch(`${baseUrl(api)}${url}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  if (res.status !== (opts.expect ?? 200))
    throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { data: T }).data;
}

/** Logs in as the bench admin (again after every restore: a restore ends every session). */
export async function login(h: Harness, api: Service): Promise<string> {
  const data = await callApi<{ token: string }>(api, 'POST', '/api/auth/login', {
    body: { username: BENCH_ADMIN, password: h.password },
  });
  return data.token;
}

export interface FinishedRow {
  status: string;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  result?: unknown;
  fileSize?: string | null;
  durationMs?: number | null;
  recordCounts?: Record<string, number> | null;
  /** backup_records: the read-back report (`durationMs` is the time spent reading the copies back). */
  verification?: { durationMs?: number } | null;
}

/**
 * Polls `table` (backup_records or operations) every 25 ms until row `id` is final; returns it with the
 * moment the final state was first seen. Throws when it failed or `timeoutMs` passes. `onTick` runs each poll.
 */
export async function waitFinal(
  dbUrl: string,
  table: 'backup_records' | 'operations',
  id: string,
  opts: { timeoutMs?: number; onTick?: () => Promise<void> } = {},
): Promise<{ row: FinishedRow; seenAt: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  return withClient(dbUrl, async (c) => {
    for (;;) {
      const { rows } = await c.query<FinishedRow>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
      const row = rows[0];
      const seenAt = performance.now();
      if (row && ['completed', 'partial'].includes(row.status)) return { row, seenAt };
      if (row?.status === 'failed') throw new Error(`${table} ${id} failed: ${row.error}`);
      if (Date.now() > deadline)
        throw new Error(`${table} ${id} is still ${row?.status ?? 'missing'} after ${opts.timeoutMs} ms`);
      await opts.onTick?.();
      await sleep(25);
    }
  });
}

/**
 * Records when each progress stage (and, while exporting, each table) was first seen in the live BullMQ
 * progress of job `jobId`: a coarse per-stage timing of the run.
 */
export function stageRecorder(h: Harness, queue: keyof typeof QUEUES, jobId: string, t0: number) {
  const seen = new Map<string, number>();
  let last = 0;
  return {
    seen,
    async tick() {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      const job = await producerFor(h)
        .queue(QUEUES[queue])
        .getJob(jobId)
        .catch(() => undefined);
      const p = job?.progress as { stage?: string; table?: string } | undefined;
      if (!p?.stage) return;
      const key = p.table && p.stage === 'exporting' ? `${p.stage}:${p.table}` : p.stage;
      if (!seen.has(key)) seen.set(key, (now - t0) / 1000);
    },
  };
}
