import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildServices, serviceArgs, serviceBundle } from '../../../scripts/build.mjs';
import { captureLog, recordSecret, scanQueueData } from './secrets.js';

/** The repository root (this file is packages/testing/src/processes.ts). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

export interface ServiceProcess {
  readonly kind: 'api' | 'worker';
  readonly pid: number;
  /** Base URL of the API (api only). */
  readonly url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (null when a signal ended it). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Environment shared by the API and worker processes of one end-to-end test. */
export interface E2eEnvironment {
  env: Record<string, string>;
  root: string;
  backupDir: string;
  uploadDir: string;
  cleanup(): Promise<void>;
}

/**
 * A unique queue prefix, temporary backup and upload folders and a random JWT secret for processes
 * that talk to the database at `databaseUrl`. `extra` overrides anything (e.g. CLOUDINARY_URL).
 */
export async function createE2eEnvironment(
  databaseUrl: string,
  extra: Record<string, string> = {},
): Promise<E2eEnvironment> {
  const root = await mkdtemp(path.join(tmpdir(), 'mp-e2e-'));
  const backupDir = path.join(root, 'backups');
  const uploadDir = path.join(root, 'uploads');
  const env = {
    // As the Docker image runs them: Prisma, for one, then leaves the call out of its error messages.
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `e2e${randomBytes(5).toString('hex')}`,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    BACKUP_DIR: backupDir,
    UPLOAD_DIR: uploadDir,
    LOG_LEVEL: 'info',
    PORT: '0',
    // Short locks so a killed worker's job is picked up within seconds.
    JOB_LOCK_MS: '4000',
    JOB_STALLED_INTERVAL_MS: '1000',
    ...extra,
  };
  recordSecret('JWT_SECRET', env.JWT_SECRET);
  return {
    env,
    root,
    backupDir,
    uploadDir,
    async cleanup() {
      await rm(root, { recursive: true, force: true });
      // Job payloads, results and failure reasons are stored in clear text: none may hold a secret.
      const leaked = await scanQueueData(env.REDIS_URL, env.QUEUE_PREFIX, {
        cluster: (env as Record<string, string | undefined>).REDIS_CLUSTER === 'true',
      });
      if (leaked) throw new Error(`BullMQ job data under ${env.QUEUE_PREFIX} holds secrets:\n${leaked}`);
    },
  };
}

let building: Promise<unknown> | undefined;

/**
 * Starts a service as a real process the way production runs it, `node --enable-source-maps dist/<kind>.mjs`
 * (so signals reach it, not a wrapper), and waits until it is ready: the API's listen line, the worker's
 * "worker ready". The bundles are built once per test run by the global setup (tests/setup/global-setup.ts);
 * a process that finds no bundle (vitest started without that setup) builds them itself. The 60 s allowance
 * is for a loaded machine: start-up took over 30 s at load 25.
 */
export async function startService(
  kind: 'api' | 'worker',
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  if (!existsSync(serviceBundle(kind, REPO_ROOT))) await (building ??= buildServices({ root: REPO_ROOT }));
  const child: ChildProcess = spawn(process.execPath, serviceArgs(kind, REPO_ROOT), {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Every line also goes to the run's capture folder, which the end-of-run secret scan reads.
  const capture = captureLog(`${kind}-${env.QUEUE_PREFIX ?? 'default'}-${child.pid}`);
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    capture?.write(d);
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
    capture?.write(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('close', () => capture?.end());
  let url = '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} exited during start-up:\n${out}`);
    if (kind === 'api') {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        url = m[1]!;
        break;
      }
    } else if (out.includes('"msg":"worker ready"')) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not become ready in ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    kind,
    pid: child.pid!,
    url,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls `fn` every `intervalMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The part of a BullMQ `Queue` that {@link waitForSettledJob} reads. */
export interface SettledJobSource {
  getJobState(jobId: string): Promise<string>;
  getJob(jobId: string): Promise<{ returnvalue: unknown; failedReason?: string } | undefined>;
}

/**
 * Waits until a queue's job has completed or failed; returns its state, return value and failure reason.
 * The state is read first and the job after it: a job read before it settles keeps the empty return value it had
 * then, even when its state, read a moment later, is already `completed`.
 */
export async function waitForSettledJob(queue: SettledJobSource, jobId: string, timeoutMs = 60_000) {
  return waitFor(async () => {
    const state = await queue.getJobState(jobId);
    if (state !== 'completed' && state !== 'failed') return undefined;
    const job = await queue.getJob(jobId);
    return { state, value: job?.returnvalue, reason: job?.failedReason };
  }, timeoutMs);
}
