import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requestVerify } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted } from '../../reply.js';
import { operationAccepted } from '../../schemas/accepted.js';
import { ADMIN_ERRORS, errorResponses } from '../../schemas/envelope.js';
import { backupIdParams } from '../../schemas/params.js';

/** POST /api/backup/:id/verify → 202; the worker checks the stored file and writes the report on the record. */
const verifyRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/:id/verify',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Verify a stored backup',
        description:
          'Reads every stored copy back (checksum, structure, counts); the report lands on the record ' +
          '(`verification`) and in the job result.',
        params: backupIdParams,
        response: {
          202: operationAccepted({ description: 'Verification queued', message: 'Verification queued' }),
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
      const queued = await requestVerify(deps, { backupId: request.params.id, createdBy: request.user.username });
      return reply.code(202).send(accepted(queued, 'Verification queued'));
    },
  );
};

export default verifyRoute;
