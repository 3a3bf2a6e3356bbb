import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deleteBackup } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const params = z.object({ id: z.uuid() }).strict();

/** DELETE /api/backup/:id: every stored copy, then the record. */
const deleteRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.delete(
    '/api/backup/:id',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: 'Delete a backup everywhere', params } },
    async (request) => {
      await deleteBackup(deps, request.params);
      return ok({ id: request.params.id, deleted: true }, 'Backup deleted');
    },
  );
};

export default deleteRoute;
