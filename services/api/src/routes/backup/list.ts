import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listBackups } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { BACKUP_EXAMPLE, backupListSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';

const query = z
  .object({
    status: z.enum(['queued', 'running', 'completed', 'partial', 'failed']).optional(),
    type: z.enum(['manual', 'scheduled', 'pre-restore']).optional(),
    /** `key:value` (e.g. `reason:pre-migration`) or `key`. */
    label: z
      .string()
      .min(1)
      .max(300)
      .optional()
      .meta({ description: '`key:value` (e.g. `reason:pre-migration`) or `key`' }),
    pinned: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional().meta({ description: 'The `nextCursor` of the previous page' }),
  })
  .strict();

/** GET /api/backup/list: newest first, keyset-paginated ({ items, nextCursor }). */
const listRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/list',
    {
      schema: {
        tags: ['backup'],
        summary: 'List backups, newest first',
        querystring: query,
        response: {
          200: okResponse(backupListSchema, {
            description: 'One page of backups',
            example: { items: [BACKUP_EXAMPLE], nextCursor: null },
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR']),
        },
      },
    },
    async (request) => ok(await listBackups(deps, request.query)),
  );
};

export default listRoute;
