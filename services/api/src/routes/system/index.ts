import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getMaintenance } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

/** GET /api/system/status: maintenance state (admin only, like every /api/system/* route). */
const systemRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get('/api/system/status', { schema: { tags: ['system'], summary: 'Maintenance state' } }, async () => {
    const { active, reason, since, jobId } = await getMaintenance(deps.prisma);
    return ok({ maintenance: { active, reason, since, jobId } });
  });
};

export default systemRoutes;
