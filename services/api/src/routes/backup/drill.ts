import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listDrills, requestDrill } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const params = z.object({ id: z.string().uuid() }).strict();
const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/**
 * POST /api/backup/:id/drill → 202; the worker restores the stored file into a scratch database, compares
 * it with the file and drops it. GET /api/backup/drills lists drills, newest first ({ items, nextCursor }).
 */
const drillRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/:id/drill',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: 'Run a restore drill of a stored backup', params } },
    async (request, reply) => {
      const accepted = await requestDrill(deps, { backupId: request.params.id, createdBy: request.user.username });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Restore drill queued'));
    },
  );

  app.get(
    '/api/backup/drills',
    { schema: { tags: ['backup'], summary: 'List restore drills with their recovery time, newest first', querystring: listQuery } },
    async (request) => ok(await listDrills(deps, request.query)),
  );
};

export default drillRoutes;
