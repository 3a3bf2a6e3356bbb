import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError, checkBackupHealth, healthSettingsOf } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

const withTimeout = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> =>
  Promise.race([p, new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())]);

/**
 * GET /healthz (the process answers), GET /readyz (PostgreSQL and Redis answer; else 503) and GET /healthz/backups
 * (every backup health check passes: 200 `{"status":"ok"}`, else 503 `{"status":"unhealthy"}`; no details, since
 * it has no auth: the checks are at the admin route GET /api/backup/health). No auth.
 */
const healthRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ok({ status: 'ok' }));

  const settings = healthSettingsOf(deps.config);
  app.get('/healthz/backups', { schema: { hide: true } }, async (request, reply) => {
    const healthy = await checkBackupHealth(deps, { timezone: deps.config.BACKUP_TIMEZONE, settings }).then(
      (report) => report.healthy,
      (err: Error) => {
        request.log.warn({ err: err.message.split('\n')[0] }, 'backup health could not be judged');
        return false;
      },
    );
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unhealthy' });
  });

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
