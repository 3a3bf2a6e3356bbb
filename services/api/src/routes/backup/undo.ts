import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { previewUndo, requestRestorePointDrop, requestUndo } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted, ok } from '../../reply.js';
import { operationAccepted } from '../../schemas/accepted.js';
import { UNDO_PREVIEW_EXAMPLE, undoPreviewSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { operationIdParams } from '../../schemas/params.js';

const UNDO_MESSAGE = 'Undo queued: everyone will be logged out';

/**
 * A restore's undo and its restore point:
 * - GET  …/undo: what an undo would discard (rows written since the restore, per table), the window, the point's
 * size;
 * - POST …/undo → 202: swaps the restore point back in (job `backup.undo`); everyone is logged out;
 * - DELETE …/restore-point → 202: drops the restore point now (the restore can no longer be undone).
 */
const undoRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/restore/:operationId/undo',
    {
      schema: {
        tags: ['backup'],
        summary: 'What undoing a restore would discard (rows written since, per table)',
        params: operationIdParams,
        response: {
          200: okResponse(undoPreviewSchema, {
            description: 'What an undo would discard, and whether it is available',
            example: UNDO_PREVIEW_EXAMPLE,
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR', 'NOT_FOUND']),
        },
      },
    },
    async (request) => ok(await previewUndo(deps, request.params.operationId)),
  );
  app.post(
    '/api/backup/restore/:operationId/undo',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Undo a restore: swap its restore point back in',
        description:
          'Refused with 409 UNDO_NOT_AVAILABLE (the message says why) when the window closed, a later restore or ' +
          'reset happened, the restore point was dropped, it was undone already, or the operation is not a ' +
          'completed restore.',
        params: operationIdParams,
        response: {
          202: operationAccepted(
            { description: 'Undo queued, with what it will discard', message: UNDO_MESSAGE },
            { discards: undoPreviewSchema },
            {
              operationId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
              jobId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
              discards: UNDO_PREVIEW_EXAMPLE,
            },
          ),
          ...errorResponses([
            ...ADMIN_ERRORS,
            'VALIDATION_ERROR',
            'NOT_FOUND',
            'UNDO_NOT_AVAILABLE',
            'MAINTENANCE_ACTIVE',
            'OPERATION_IN_PROGRESS',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request, reply) => {
      const queued = await requestUndo(deps, {
        restoreOperationId: request.params.operationId,
        createdBy: request.user.username,
      });
      return reply.code(202).send(accepted(queued, UNDO_MESSAGE));
    },
  );
  app.delete(
    '/api/backup/restore/:operationId/restore-point',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: "Drop a restore's restore point now (no undo afterwards)",
        params: operationIdParams,
        response: {
          202: operationAccepted({ description: 'Restore point drop queued', message: 'Restore point drop queued' }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            'VALIDATION_ERROR',
            'NOT_FOUND',
            'MAINTENANCE_ACTIVE',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request, reply) => {
      const queued = await requestRestorePointDrop(deps, {
        restoreOperationId: request.params.operationId,
        createdBy: request.user.username,
      });
      return reply.code(202).send(accepted(queued, 'Restore point drop queued'));
    },
  );
};

export default undoRoutes;
