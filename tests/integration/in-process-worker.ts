// The worker's own start-up code and real handlers, in the test's process, on a database copy and a queue prefix
// of its own: for integration files that send jobs through the real queues without spawning a worker process
// (tests/e2e does that). Lives here, not in packages/testing, because it imports service code.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig, workerEnvSchema } from '@mp/config';
import { NO_ENCRYPTION } from '@mp/core';
import { QUEUES, createProducer, type Producer } from '@mp/jobs';
import { createLogger, type Logger } from '@mp/logger';
import { createLocalStorage } from '@mp/storage';
import { closeProducer, createTestDatabase, type TestDatabase } from '@mp/testing';
import type { WorkerDeps } from '../../services/worker/src/deps.js';
import { handlers } from '../../services/worker/src/handlers/index.js';
import { startWorkers, type StartedWorkers } from '../../services/worker/src/start-workers.js';

export interface InProcessWorker {
  db: TestDatabase;
  /** The backup and upload folder (one temporary folder). */
  dir: string;
  producer: Producer;
  deps: WorkerDeps;
  started: StartedWorkers;
  /** Stops the workers, obliterates every queue under the prefix, closes the producer, drops the database. */
  close(): Promise<void>;
}

/**
 * A fresh database copy, a temporary folder for backups and uploads, a producer and the worker's queues under a
 * unique prefix beginning with `prefix`, and the workers running every real handler. `env` adds to (or overrides)
 * the worker's environment (`LOG_LEVEL` is `silent` unless given); `logger` replaces the silent one.
 * Trap: a failure half-way leaves what was made so far (the caller's afterAll has no handle to close).
 */
export async function startInProcessWorker(opts: {
  prefix: string;
  env?: Record<string, string>;
  logger?: Logger;
  poolMax?: number;
  /** Runs on the fresh database before the workers start (seeding). */
  beforeStart?: (db: TestDatabase) => Promise<void>;
}): Promise<InProcessWorker> {
  const db = await createTestDatabase(opts.poolMax === undefined ? {} : { poolMax: opts.poolMax });
  await opts.beforeStart?.(db);
  const dir = await mkdtemp(path.join(tmpdir(), `mp-${opts.prefix}-`));
  const config = parseConfig(workerEnvSchema, {
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL,
    QUEUE_PREFIX: `${opts.prefix}${randomBytes(4).toString('hex')}`,
    BACKUP_DIR: dir,
    UPLOAD_DIR: dir,
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  const producer = createProducer({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX });
  await producer.queue(QUEUES.backup).waitUntilReady();
  const deps: WorkerDeps = {
    config,
    encryption: NO_ENCRYPTION,
    logger: opts.logger ?? createLogger({ level: 'silent' }),
    prisma: db.prisma,
    pool: db.pool,
    producer,
    storage: { local: createLocalStorage({ dir }), cloud: null },
  };
  const started = startWorkers(deps, handlers);
  return {
    db,
    dir,
    producer,
    deps,
    started,
    async close() {
      await started.close();
      await closeProducer(producer);
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
