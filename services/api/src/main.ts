import { loadConfigOrExit, apiEnvSchema } from '@mp/config';
import { createStorageSet, exitGracefullyOnSignals } from '@mp/core';
import { createPgPool, createPrismaClient, warmPool } from '@mp/db';
import { createProducer } from '@mp/jobs';
import { createLogger, createRepeatLimiter } from '@mp/logger';
import { buildApp } from './app.js';
import type { ApiDeps } from './deps.js';

// The composition root: the only place that reads process.env.
/** The API's database connections, all kept open (a request holds one for a few milliseconds). */
const DB_CONNECTIONS = 10;
const config = loadConfigOrExit(apiEnvSchema, process.env);
const logger = createLogger({
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY && process.stdout.isTTY,
  name: 'api',
});
// Redis clients retry many times a second during an outage: one line per error and 30 s, not one per retry.
const repeatLimited = createRepeatLimiter();
// One pool for everything: the hot paths (session check, enqueue, job status) query it directly, Prisma serves
// the rest on it. Its connections are opened at start and kept (`min` = `max`): opening one means a new
// PostgreSQL backend and a SCRAM handshake, and a burst of requests that found the pools shrunk after 10 s idle
// used to wait for several at once (the bench's p99 stalls, docs/benchmarks.md).
const pool = createPgPool(config.DATABASE_URL, {
  applicationName: 'mp-api',
  max: DB_CONNECTIONS,
  min: DB_CONNECTIONS,
  onError: (err) => logger.warn({ err: err.message }, 'idle database connection lost'),
});
const prisma = createPrismaClient(pool);
const producer = createProducer({
  redisUrl: config.REDIS_URL,
  cluster: config.REDIS_CLUSTER,
  prefix: config.QUEUE_PREFIX,
  onError: (err, queue) =>
    repeatLimited(`${queue} ${err.message}`, (extra) =>
      logger.warn({ queue, err: { name: err.name, message: err.message }, ...extra }, 'queue connection error'),
    ),
});

const deps: ApiDeps = {
  config,
  logger,
  prisma,
  pool,
  producer,
  // Local from BACKUP_DIR; cloud only when CLOUDINARY_URL is set, else null.
  storage: createStorageSet(config),
  failpoints: config.FAILPOINTS,
  async checkRedis() {
    // Any Redis round trip will do; with the offline queue disabled it fails fast when Redis is down.
    return producer
      .queue('backup')
      .count()
      .then(
        () => true,
        () => false,
      );
  },
};

const app = await buildApp(deps);
// In the background, and not fatal: with PostgreSQL down or slow at start the API still answers (health says
// so) and connects on demand.
void warmPool(pool, DB_CONNECTIONS).catch((err: Error) =>
  logger.warn({ err: err.message }, 'could not open the database connections at start'),
);

exitGracefullyOnSignals(
  logger,
  [() => app.close(), () => producer.close(), () => prisma.$disconnect(), () => pool.end()],
  {
    timeoutMs: 15_000,
  },
);

try {
  await app.listen({ host: config.HOST, port: config.PORT });
} catch (err) {
  logger.fatal({ err }, 'could not listen');
  await producer.close().catch(() => {});
  await prisma.$disconnect().catch(() => {});
  await pool.end().catch(() => {});
  process.exit(1);
}
