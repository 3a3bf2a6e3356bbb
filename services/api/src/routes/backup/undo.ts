import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { previewUndo, requestRestorePointDrop, requestUndo } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const params = z.object({ operationId: z.string().uuid() }).strict();

/**
 * A restore's undo and its restore point:
 * - GET  …/undo: what an undo would discard (rows written since the restore, per table), the window, the point's size;
 * - POST …/undo → 202: swaps the restore point back in (job `backup.undo`); everyone is logged out;
 * - DELETE …/restore-point → 202: drops the restore point now (the restore can no longer be undone).
 */
const undoRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/restore/:operationId/undo',
    { schema: { tags: ['backup'], summary: 'What undoing a restore would discard (rows written since, per table)', params } },
    async (request) => ok(await previewUndo(deps, request.params.operationId)),
  );
  app.post(
    '/api/backup/restore/:operationId/undo',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Undo a restore: swap its restore point back in',
        description: 'Refused with 409 UNDO_NOT_AVAILABLE (the message says why) when the window closed, a later restore or reset happened, the restore point was dropped, it was undone already, or the operation is not a completed restore.',
        params,
      },
    },
    async (request, reply) => {
      const accepted = await requestUndo(deps, { restoreOperationId: request.params.operationId, createdBy: request.user.username });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Undo queued: everyone will be logged out'));
    },
  );
  app.delete(
    '/api/backup/restore/:operationId/restore-point',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: "Drop a restore's restore point now (no undo afterwards)", params } },
    async (request, reply) => {
      const accepted = await requestRestorePointDrop(deps, { restoreOperationId: request.params.operationId, createdBy: request.user.username });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Restore point drop queued'));
    },
  );
};

export default undoRoutes;
