import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listRestores } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { RESTORE_EXAMPLE, restoreListSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';

const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** GET /api/backup/restores: restores, newest first, each with whether it can still be undone (and why not). */
const restoresRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/restores',
    {
      schema: {
        tags: ['backup'],
        summary: 'List restores, newest first, with their restore point and whether each can be undone',
        description:
          'Whole and selective restores (entity restores never replace data and are not listed). `undoAvailable` ' +
          'follows the undo ' +
          'rule: a completed restore, not undone, not followed by another restore or reset, its restore point kept ' +
          'and its window open.',
        querystring: listQuery,
        response: {
          200: okResponse(restoreListSchema, {
            description: 'One page of restores',
            example: { items: [RESTORE_EXAMPLE], nextCursor: null },
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR']),
        },
      },
    },
    async (request) => ok(await listRestores(deps, request.query)),
  );
};

export default restoresRoute;
