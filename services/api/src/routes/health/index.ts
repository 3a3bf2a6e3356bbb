import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, checkBackupHealth, healthSettingsOf, settleWithin } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { errorResponses, okResponse } from '../../schemas/envelope.js';
import { backupsHealthyAnswer, readyAnswer } from '../../schemas/system.js';

/**
 * GET /healthz (the process answers), GET /readyz (PostgreSQL and Redis answer; else 503) and GET /healthz/backups
 * (every backup health check passes: 200 `{"status":"ok"}`, else 503 `{"status":"unhealthy"}`; no details, since
 * it has no auth: the checks are at the admin route GET /api/backup/health). No auth.
 */
const healthRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers',
        security: [],
        response: {
          200: okResponse(z.object({ status: z.literal('ok') }), { description: 'Alive', example: { status: 'ok' } }),
        },
      },
    },
    async () => ok({ status: 'ok' as const }),
  );

  const settings = healthSettingsOf(deps.config);
  app.get(
    '/healthz/backups',
    {
      schema: {
        tags: ['health'],
        summary: 'For monitors: 200 when every backup health check passes, else 503 (no details: they need auth)',
        security: [],
        response: { 200: backupsHealthyAnswer('ok'), 503: backupsHealthyAnswer('unhealthy') },
      },
    },
    async (request, reply) => {
      const healthy = await checkBackupHealth(deps, { timezone: deps.config.BACKUP_TIMEZONE, settings }).then(
        (report) => report.healthy,
        (err: Error) => {
          request.log.warn({ err: err.message.split('\n')[0] }, 'backup health could not be judged');
          return false;
        },
      );
      return healthy ? reply.code(200).send({ status: 'ok' }) : reply.code(503).send({ status: 'unhealthy' });
    },
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: PostgreSQL and Redis answer (within 2 s each)',
        security: [],
        response: {
          200: okResponse(readyAnswer, {
            description: 'Ready',
            example: { status: 'ready', database: true, redis: true },
          }),
          ...errorResponses(['NOT_READY', 'INTERNAL_ERROR']),
        },
      },
    },
    async () => {
      const [database, redis] = await Promise.all([
        settleWithin(
          deps.pool.query('SELECT 1').then(
            () => true,
            () => false,
          ),
          2_000,
          () => false,
        ),
        settleWithin(deps.checkRedis(), 2_000, () => false),
      ]);
      if (!database || !redis) throw new AppError('NOT_READY', 'Not ready', { database, redis });
      return ok({ status: 'ready' as const, database, redis });
    },
  );
};

export default healthRoutes;
