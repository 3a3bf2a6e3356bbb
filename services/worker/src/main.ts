import { setFlagsFromString } from 'node:v8';
import { mkdir } from 'node:fs/promises';
import { alertWebhookConfigProblem, loadConfigOrExit, workerEnvSchema } from '@mp/config';
import {
  createStorageSet,
  exitGracefullyOnSignals,
  readEncryptionSettings,
  resyncSchedulers,
  syncHealthScheduler,
  syncRestorePointsScheduler,
  type EncryptionSettings,
} from '@mp/core';
import { createPgPool, createPrismaClient } from '@mp/db';
import { QUEUES, createProducer } from '@mp/jobs';
import { createLogger, createRepeatLimiter } from '@mp/logger';
import type { WorkerDeps } from './deps.js';
import { handlers } from './handlers/index.js';
import { reconcileJobs, recoverInterrupted } from './recovery.js';
import { lowerPriority } from './priority.js';
import { startWorkers } from './start-workers.js';

// Prisma's query compiler is a WebAssembly module. With V8's default budget, its functions are recompiled by
// TurboFan within the first few queries, which leaves tens of MB of compiler memory in the process for good
// (figures: docs/benchmarks.md, section 3). The worker makes a handful of Prisma calls per job, so the baseline
// (Liftoff) code is fast enough; a function that is really hot still tiers up, after a larger budget. Must run before
// the first query, which is when the module is compiled.
setFlagsFromString('--wasm-tiering-budget=100000000');

// The composition root: the only place that reads process.env.
const config = loadConfigOrExit(workerEnvSchema, process.env);
const webhookProblem = alertWebhookConfigProblem(config);
if (webhookProblem) {
  process.stderr.write(`Invalid configuration:\n  - ${webhookProblem}\n`);
  process.exit(1);
}
const encryption = readEncryptionOrExit();
const logger = createLogger({
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY && process.stdout.isTTY,
  name: 'worker',
});
// Redis clients retry many times a second during an outage: one line per error and 30 s, not one per retry.
const repeatLimited = createRepeatLimiter();
const prisma = createPrismaClient(config.DATABASE_URL, { max: 4 });
const pool = createPgPool(config.DATABASE_URL, {
  applicationName: 'mp-worker',
  max: 6,
  onError: (err) => logger.warn({ err: err.message }, 'idle database connection lost'),
});
const producer = createProducer({
  redisUrl: config.REDIS_URL,
  cluster: config.REDIS_CLUSTER,
  prefix: config.QUEUE_PREFIX,
  onError: (err, queue) =>
    repeatLimited(`producer ${queue} ${err.message}`, (extra) =>
      logger.warn({ queue, err: err.message, ...extra }, 'producer connection error'),
    ),
});
await mkdir(config.UPLOAD_DIR, { recursive: true });

const deps: WorkerDeps = {
  config,
  logger,
  prisma,
  pool,
  producer,
  storage: createStorageSet(config),
  encryption,
};
logger.info(
  {
    encryptionKeyId: encryption.current?.id ?? null,
    decryptionKeyIds: [...encryption.keyring.keys()],
    required: encryption.required,
  },
  encryption.current ? 'backup files are encrypted' : 'backup files are written in clear (BACKUP_ENCRYPTION_KEY unset)',
);

lowerPriority(logger);
await recoverInterrupted(deps);
const started = startWorkers(deps, handlers);
// After a crash between the API's two writes (row, then job); again every grace period for rows still too young now,
// and for a restore whose killed worker's connection (and so its run lock) outlived this start-up.
const reconcile = () =>
  reconcileJobs(deps)
    .then(() => recoverInterrupted(deps))
    .catch((err: Error) => logger.error({ err: err.message }, 'queue reconciliation failed'));
await reconcile();
const reconciling = setInterval(() => void reconcile(), config.RECONCILE_GRACE_MS);
const schedule = await resyncSchedulers(deps, producer.queue(QUEUES.backup), { timezone: config.BACKUP_TIMEZONE });
await syncRestorePointsScheduler(producer.queue(QUEUES.backup), { timezone: config.BACKUP_TIMEZONE });
const nextHealthCheckAt = await syncHealthScheduler(producer.queue(QUEUES.backup), {
  everyMinutes: config.BACKUP_HEALTH_CHECK_EVERY_MINUTES,
});
logger.info(
  {
    frequency: schedule.settings.frequency,
    nextBackupAt: schedule.nextBackupAt,
    nextDrillAt: schedule.nextDrillAt,
    nextHealthCheckAt,
    alerts: config.BACKUP_ALERT_WEBHOOK_URL ? 'webhook' : 'off',
    timezone: config.BACKUP_TIMEZONE,
  },
  'worker ready',
);

/**
 * Fail closed: a bad key, or no key while BACKUP_ENCRYPTION_REQUIRED=true, stops the worker before it connects
 * anywhere.
 */
function readEncryptionOrExit(): EncryptionSettings {
  try {
    return readEncryptionSettings(config);
  } catch (err) {
    process.stderr.write(`Invalid configuration:\n  - ${(err as Error).message}\n`);
    process.exit(1);
  }
}

exitGracefullyOnSignals(
  logger,
  [
    async () => clearInterval(reconciling),
    () => started.close(),
    () => producer.close(),
    () => prisma.$disconnect(),
    () => pool.end(),
  ],
  {
    timeoutMs: 60_000,
    message: 'shutting down: finishing active jobs',
  },
);
