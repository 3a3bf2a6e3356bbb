import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deleteBackup } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { backupIdParams, EXAMPLE_IDS } from '../../schemas/params.js';

/** DELETE /api/backup/:id: every stored copy, then the record. */
const deleteRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.delete(
    '/api/backup/:id',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Delete a backup everywhere',
        description:
          'Removes every stored copy, then the record. When a copy cannot be deleted the record is kept, with the ' +
          'reason in its `error` (STORAGE_ERROR).',
        params: backupIdParams,
        response: {
          200: okResponse(z.object({ id: z.uuid(), deleted: z.literal(true) }), {
            description: 'Deleted',
            message: 'Backup deleted',
            example: { id: EXAMPLE_IDS.backup, deleted: true },
          }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            'VALIDATION_ERROR',
            'BACKUP_NOT_FOUND',
            'BACKUP_IN_PROGRESS',
            'STORAGE_ERROR',
            'MAINTENANCE_ACTIVE',
          ]),
        },
      },
    },
    async (request) => {
      await deleteBackup(deps, request.params);
      return ok({ id: request.params.id, deleted: true as const }, 'Backup deleted');
    },
  );
};

export default deleteRoute;
