import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import { createRedisConnection } from '@mp/jobs';
import { AppError, settleWithin } from '@mp/core';
import type { ApiDeps } from '../deps.js';

/** How long one counter round trip may take before the request goes on uncounted (fail open). */
const COMMAND_TIMEOUT_MS = 1_000;
/** How long start-up waits for the counter's first connection (the API starts anyway after it). */
const CONNECT_WAIT_MS = 2_000;

/**
 * Registers @fastify/rate-limit (no global limit; routes opt in with `config.rateLimit`) with its counters
 * in Redis under `<QUEUE_PREFIX>:rate-limit:`, so every API replica counts against one shared limit.
 *
 * When Redis is down or slow the limit FAILS OPEN: the request goes on uncounted and one warning is
 * logged per outage. Why: login reads PostgreSQL only, and reads must keep working without Redis
 * (a 503 on login would lock every operator out during a Redis outage, when they need in most); the
 * Argon2id cost still slows each guess. Nothing waits for Redis: no offline queue, a
 * {@link COMMAND_TIMEOUT_MS} timeout per counter, and a bounded wait for the first connection.
 * The connection is closed with the app.
 */
export async function registerRateLimit(app: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'logger'>): Promise<void> {
  const redis = createRedisConnection(deps.config.REDIS_URL, {
    cluster: deps.config.REDIS_CLUSTER,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_WAIT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
  });
  let healthy = true;
  redis.on('error', (err: Error) => {
    if (!healthy) return;
    healthy = false;
    deps.logger.warn(
      { err: { name: err.name, message: err.message } },
      'rate-limit store unavailable: login attempts are not counted until Redis is back',
    );
  });
  redis.on('ready', () => {
    if (!healthy) deps.logger.info('rate-limit store back: login attempts are counted again');
    healthy = true;
  });
  app.addHook('onClose', async () => {
    redis.disconnect();
  });
  // Without the offline queue, a counter asked for before the connection is up would go uncounted.
  const ac = new AbortController();
  await settleWithin(
    Promise.race([once(redis, 'ready', { signal: ac.signal }), once(redis, 'error', { signal: ac.signal })]),
    CONNECT_WAIT_MS,
    () => undefined,
  ).catch(() => {});
  ac.abort();

  await app.register(fastifyRateLimit, {
    global: false,
    redis,
    nameSpace: `${deps.config.QUEUE_PREFIX}:rate-limit:`,
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => new AppError('RATE_LIMITED', `Too many attempts; retry in ${ctx.after}`),
  });
}
