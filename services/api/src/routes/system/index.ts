import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getMaintenance } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { maintenanceSchema } from '../../schemas/system.js';

const EXAMPLE = {
  maintenance: {
    active: true,
    reason: 'restore',
    since: '2026-11-24T12:00:01.000Z',
    jobId: '7d9f0c1e-4b8a-4c52-9a41-2f1e6b3c8d90',
  },
};

/** GET /api/system/status: maintenance state (admin only, like every /api/system/* route). */
const systemRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/system/status',
    {
      schema: {
        tags: ['system'],
        summary: 'Maintenance state',
        response: {
          200: okResponse(maintenanceSchema, {
            description: 'Whether a restore or reset holds maintenance mode',
            example: EXAMPLE,
          }),
          ...errorResponses(ADMIN_ERRORS),
        },
      },
    },
    async () => {
      const { active, reason, since, jobId } = await getMaintenance(deps.prisma);
      return ok({ maintenance: { active, reason, since, jobId } });
    },
  );
};

export default systemRoutes;
