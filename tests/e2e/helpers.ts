import { seedDemoData, type PrismaClient } from '@mp/db';
import {
  createE2eEnvironment,
  createTestDatabase,
  createUser,
  recordResponseSecrets,
  startService,
  waitFor,
  type E2eEnvironment,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';

export interface Envelope<T = Record<string, unknown>> {
  success: boolean;
  data: T;
  error?: { code: string; message: string; details?: unknown };
}

/** A small HTTP client for the API process. */
export function client(api: ServiceProcess, token?: string) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  });
  return {
    async json<T = Record<string, unknown>>(
      method: string,
      url: string,
      body?: unknown,
    ): Promise<{ status: number; body: Envelope<T> }> {
      const res = await fetch(`${api.url}${url}`, {
        method,
        headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
      });
      const text = await res.text();
      const parsed = text ? (JSON.parse(text) as Envelope<T>) : (undefined as never);
      // Tokens and generated passwords the API hands out, for the end-of-run secret scan of every log.
      recordResponseSecrets(parsed);
      recordResponseSecrets(body);
      return { status: res.status, body: parsed };
    },
    raw(url: string, init: RequestInit = {}) {
      return fetch(`${api.url}${url}`, {
        ...init,
        headers: { ...headers(), ...(init.headers as Record<string, string>) },
        redirect: 'manual',
      });
    },
  };
}

/** Logs in through the API process and returns the token. */
export async function login(api: ServiceProcess, creds: { username: string; password: string }): Promise<string> {
  const res = await client(api).json<{ token: string }>('POST', '/api/auth/login', creds);
  if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return res.body.data.token;
}

/** Creates an admin; `login()` gets a new token for it (restores log everyone out). */
export async function createAdmin(api: ServiceProcess, prisma: PrismaClient) {
  const { user, password } = await createUser(prisma, { role: 'ADMIN' });
  const creds = { username: user.username, password };
  return { user, login: () => login(api, creds) };
}

/**
 * Polls GET /api/backup/jobs/:id until the job is final; returns its last status. A restore or
 * reset logs everyone out, so on 401 it logs in again through `relogin` when given.
 */
export async function waitForJob(
  api: ServiceProcess,
  token: string,
  jobId: string,
  opts: { relogin?: () => Promise<string>; timeoutMs?: number } = {},
) {
  let current = token;
  // What the API last answered, so a timeout says where the job stood (the state, its progress, its error).
  let last: unknown = 'no answer yet';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  try {
    return await waitFor(
      async () => {
        const res = await client(api, current).json<{
          state: string;
          error?: string;
          result?: Record<string, unknown>;
          progress?: unknown;
        }>('GET', `/api/backup/jobs/${jobId}`);
        last = { status: res.status, body: res.body };
        if (res.status === 401 && opts.relogin) {
          current = await opts.relogin();
          return undefined;
        }
        const state = res.body.data?.state;
        return state === 'completed' || state === 'failed' || state === 'partial' ? res.body.data : undefined;
      },
      timeoutMs,
      150,
    );
  } catch (err) {
    // A timeout, or the API unreachable: either way, with where the job stood when last seen.
    throw new Error(`job ${jobId}: ${(err as Error).message}; last answer: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** A database, API and worker processes, and an admin, for one end-to-end test file. */
export interface E2eStack {
  db: TestDatabase;
  env: E2eEnvironment;
  api: ServiceProcess;
  worker: ServiceProcess;
  /** Logs the stack's admin in again (restores and resets log everyone out). */
  login: () => Promise<string>;
  /** Replaces the worker process with a fresh one (after a kill). */
  restartWorker(): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/**
 * Seeds a fresh database copy at `scale`, starts the API and worker as real processes on it, and
 * creates an admin. The admin exists before any backup the test takes, so it survives restores.
 */
export async function startE2eStack(opts: {
  scale: number;
  seed: number;
  env?: Record<string, string>;
}): Promise<E2eStack> {
  const db = await createTestDatabase();
  await seedDemoData(db, { scale: opts.scale, seed: opts.seed });
  const env = await createE2eEnvironment(db.url, opts.env);
  const [api, worker] = await Promise.all([startService('api', env.env), startService('worker', env.env)]);
  const { login } = await createAdmin(api, db.prisma);
  const stack: E2eStack = {
    db,
    env,
    api,
    worker,
    login,
    async restartWorker() {
      stack.worker = await startService('worker', env.env);
      return stack.worker;
    },
    async stop() {
      await Promise.all([stack.api.kill(), stack.worker.kill()]);
      await db.drop();
      await env.cleanup();
    },
  };
  return stack;
}
