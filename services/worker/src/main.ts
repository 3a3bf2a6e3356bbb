import { setFlagsFromString } from 'node:v8';
import { mkdir } from 'node:fs/promises';
import { loadConfigOrExit, workerEnvSchema } from '@mp/config';
import { createStorageSet, resyncSchedulers } from '@mp/core';
import { createPgPool, createPrismaClient } from '@mp/db';
import { QUEUES, createProducer } from '@mp/jobs';
import { createLogger } from '@mp/logger';
import type { WorkerDeps } from './deps.js';
import { handlers } from './handlers/index.js';
import { recoverInterrupted } from './recovery.js';
import { lowerPriority } from './priority.js';
import { startWorkers } from './start-workers.js';

// Prisma's query compiler is a 3.4 MB WebAssembly module. With V8's default budget, its functions are recompiled
// by TurboFan within the first few queries, which leaves about 60 MB of compiler memory in the process for good
// (worker idle RSS 205 → 140 MB). The worker makes a handful of Prisma calls per job, so the baseline (Liftoff) code
// is fast enough; a function that is really hot still tiers up after 55× the default budget. Must run before the
// first query, which is when the module is compiled.
setFlagsFromString('--wasm-tiering-budget=100000000');

// The composition root: the only place that reads process.env.
const config = loadConfigOrExit(workerEnvSchema, process.env);
const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY && process.stdout.isTTY, name: 'worker' });
const prisma = createPrismaClient(config.DATABASE_URL, { max: 4 });
const pool = createPgPool(config.DATABASE_URL, { applicationName: 'mp-worker', max: 6 });
const producer = createProducer({
  redisUrl: config.REDIS_URL,
  prefix: config.QUEUE_PREFIX,
  onError: (err, queue) => logger.warn({ queue, err: err.message }, 'producer connection error'),
});
await mkdir(config.UPLOAD_DIR, { recursive: true });

const deps: WorkerDeps = {
  config,
  logger,
  prisma,
  pool,
  producer,
  storage: createStorageSet(config),
  uploadDir: config.UPLOAD_DIR,
  settings: { gzipLevel: config.GZIP_LEVEL, compressThresholdBytes: config.COMPRESS_THRESHOLD_BYTES },
};

lowerPriority(logger);
await recoverInterrupted(deps);
const started = startWorkers(deps, handlers);
const schedule = await resyncSchedulers(deps, producer.queue(QUEUES.backup), { timezone: config.BACKUP_TIMEZONE });
logger.info({ frequency: schedule.settings.frequency, nextBackupAt: schedule.nextBackupAt, timezone: config.BACKUP_TIMEZONE }, 'worker ready');

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down: finishing active jobs');
  const timer = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, 60_000).unref();
  try {
    await started.close();
    await producer.close();
    await prisma.$disconnect();
    await pool.end();
    clearTimeout(timer);
    process.exit(0);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
