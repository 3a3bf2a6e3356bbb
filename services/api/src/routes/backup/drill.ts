import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listDrills, requestDrill } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted, ok } from '../../reply.js';
import { operationAccepted } from '../../schemas/accepted.js';
import { DRILL_EXAMPLE, drillListSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { backupIdParams } from '../../schemas/params.js';

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
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Run a restore drill of a stored backup',
        description:
          'The job fails with DRILL_FAILED (the comparison in its result) or DRILL_NOT_PERMITTED (the database role ' +
          'may not create a scratch database).',
        params: backupIdParams,
        response: {
          202: operationAccepted({ description: 'Restore drill queued', message: 'Restore drill queued' }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            'VALIDATION_ERROR',
            'BACKUP_NOT_FOUND',
            'BACKUP_NOT_READY',
            'MAINTENANCE_ACTIVE',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request, reply) => {
      const queued = await requestDrill(deps, { backupId: request.params.id, createdBy: request.user.username });
      return reply.code(202).send(accepted(queued, 'Restore drill queued'));
    },
  );

  app.get(
    '/api/backup/drills',
    {
      schema: {
        tags: ['backup'],
        summary: 'List restore drills with their recovery time, newest first',
        querystring: listQuery,
        response: {
          200: okResponse(drillListSchema, {
            description: 'One page of drills',
            example: { items: [DRILL_EXAMPLE], nextCursor: null },
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR']),
        },
      },
    },
    async (request) => ok(await listDrills(deps, request.query)),
  );
};

export default drillRoutes;
