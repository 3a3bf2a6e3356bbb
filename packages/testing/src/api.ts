import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiEnvSchema, parseConfig, type ApiConfig } from '@mp/config';
import { hashPassword, type StorageSet } from '@mp/core';
import type { PgPool, PrismaClient, Role, User } from '@mp/db';
import { QUEUES, createProducer, type Producer } from '@mp/jobs';
import { createLogger, type Logger } from '@mp/logger';
import { createLocalStorage, type BackupStorage } from '@mp/storage';
import { createTestDatabase, type TestDatabase } from './db.js';
import { captureLog, recordSecret } from './secrets.js';

/** The same shape as services/api's ApiDeps (packages never import services, so it is restated here). */
export interface ApiTestDeps {
  config: ApiConfig;
  logger: Logger;
  prisma: PrismaClient;
  pool: PgPool;
  producer: Producer;
  storage: StorageSet;
  checkRedis(): Promise<boolean>;
}

export interface ApiTestContext {
  deps: ApiTestDeps;
  db: TestDatabase;
  backupDir: string;
  uploadDir: string;
  /** Every log line written so far (JSON text), for assertions such as "no secret was logged". */
  logLines: string[];
  /** Obliterates this context's queues, closes the producer, drops the database and removes the temp folders. */
  close(): Promise<void>;
}

/**
 * Real dependencies for `buildApp(ctx.deps)`: a fresh database from the migrated template, a unique
 * BullMQ prefix, temporary BACKUP_DIR/UPLOAD_DIR, a random JWT secret, and a logger captured in memory.
 * `env` overrides any API setting (e.g. `{ LOGIN_RATE_LIMIT: '3' }`); `cloud` supplies a cloud driver.
 */
export async function createApiTestContext(
  opts: { env?: Record<string, string>; cloud?: BackupStorage | null; logLevel?: string } = {},
): Promise<ApiTestContext> {
  const db = await createTestDatabase();
  const root = await mkdtemp(join(tmpdir(), 'mp-api-test-'));
  const backupDir = join(root, 'backups');
  const uploadDir = join(root, 'uploads');
  const config = parseConfig(apiEnvSchema, {
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    BACKUP_DIR: backupDir,
    UPLOAD_DIR: uploadDir,
    LOG_LEVEL: opts.logLevel ?? 'info',
    ...opts.env,
  });
  recordSecret('JWT_SECRET', config.JWT_SECRET);
  const logLines: string[] = [];
  // Also to the run's capture folder, which the end-of-run secret scan reads (secrets.ts).
  const capture = captureLog(`api-test-${config.QUEUE_PREFIX}`);
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (logLines.length < 10_000) logLines.push(chunk.toString('utf8'));
      // A line logged after close() (a request or a queue event still settling) has nowhere to go: writing it to
      // the ended capture would throw ERR_STREAM_WRITE_AFTER_END as an uncaught error and fail the whole run.
      if (capture && !capture.writableEnded) capture.write(chunk, () => done());
      else done();
    },
  });
  const logger = createLogger({ level: config.LOG_LEVEL, destination });
  const producer = createProducer({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX });
  const deps: ApiTestDeps = {
    config,
    logger,
    prisma: db.prisma,
    pool: db.pool,
    producer,
    storage: { local: createLocalStorage({ dir: backupDir }), cloud: opts.cloud ?? null },
    checkRedis: () =>
      producer
        .queue(QUEUES.backup)
        .count()
        .then(
          () => true,
          () => false,
        ),
  };
  return {
    deps,
    db,
    backupDir,
    uploadDir,
    logLines,
    async close() {
      await closeProducer(producer);
      await db.drop();
      await rm(root, { recursive: true, force: true });
      // Lines still buffered (the capture writes one at a time) reach it before it ends, for the secret scan.
      for (let i = 0; i < 100 && destination.writableLength > 0; i++) await sleep(10);
      capture?.end();
    },
  };
}

/**
 * Test teardown: obliterates every queue under the producer's prefix (a queue that is already gone is fine), then
 * closes it.
 */
export async function closeProducer(producer: Producer | undefined): Promise<void> {
  if (!producer) return;
  for (const name of Object.values(QUEUES))
    await producer
      .queue(name)
      .obliterate({ force: true })
      .catch(() => {});
  await producer.close();
}

/** A password that satisfies the API's strength rule. */
export const TEST_PASSWORD = 'Correct-Horse-42-battery';

/**
 * Inserts an active user of `role` with a real hash of `password` (default {@link TEST_PASSWORD}); both are
 * recorded for the end-of-run secret scan.
 */
export async function createUser(
  prisma: PrismaClient,
  opts: { role: Role; username?: string; password?: string; isActive?: boolean },
): Promise<{ user: User; password: string }> {
  const password = opts.password ?? TEST_PASSWORD;
  const passwordHash = await hashPassword(password);
  recordSecret('password', password);
  recordSecret('password hash', passwordHash);
  const username = opts.username ?? `${opts.role.toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const user = await prisma.user.create({
    data: {
      username,
      email: `${username}@example.test`,
      passwordHash,
      firstName: 'Test',
      lastName: opts.role,
      role: opts.role,
      isActive: opts.isActive ?? true,
    },
  });
  return { user, password };
}

/** Anything with fastify's `inject` (kept structural: packages/testing does not depend on fastify). */
export interface Injectable {
  inject(opts: {
    method: 'POST';
    url: string;
    payload: Record<string, unknown>;
  }): PromiseLike<{ statusCode: number; body: string }>;
}

/** Logs in through the real endpoint and returns the bearer token. Throws with the answer when it fails. */
export async function loginAs(app: Injectable, creds: { username: string; password: string }): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: creds });
  if (res.statusCode !== 200) throw new Error(`login as ${creds.username} failed: ${res.statusCode} ${res.body}`);
  const { token } = (JSON.parse(res.body) as { data: { token: string } }).data;
  recordSecret('token', token);
  return token;
}

/** Creates a user of `role` and logs in: `{ user, token, headers }` ready for `app.inject`. */
export async function createUserAndLogin(app: Injectable, prisma: PrismaClient, role: Role) {
  const { user, password } = await createUser(prisma, { role });
  const token = await loginAs(app, { username: user.username, password });
  return { user, password, token, headers: { authorization: `Bearer ${token}` } };
}
