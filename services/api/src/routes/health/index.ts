import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

const withTimeout = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> =>
  Promise.race([p, new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())]);

/** GET /healthz (the process answers) and GET /readyz (PostgreSQL and Redis answer; else 503). No auth. */
const healthRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ok({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async () => {
    const [database, redis] = await Promise.all([
      withTimeout(deps.pool.query('SELECT 1').then(() => true, () => false), 2_000, false),
      withTimeout(deps.checkRedis(), 2_000, false),
    ]);
    if (!database || !redis) throw new AppError('NOT_READY', 'Not ready', { database, redis });
    return ok({ status: 'ready', database, redis });
  });
};

export default healthRoutes;
