import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestReset } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted } from '../../reply.js';
import { operationAccepted } from '../../schemas/accepted.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses } from '../../schemas/envelope.js';

const body = z
  .object({ confirmationToken: z.string().max(100) })
  .strict()
  .meta({ examples: [{ confirmationToken: 'DELETE' }] });

const MESSAGE =
  'Reset queued. Keep claimToken: every account is deleted, and it is the only way to get the new SuperAdmin ' +
  'password (POST /api/auth/reset-claim)';

/** POST /api/backup/reset { confirmationToken: "DELETE" } → 202; the worker wipes and recreates SuperAdmin. */
const resetRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/reset',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Queue a full data reset',
        body,
        response: {
          202: operationAccepted(
            { description: 'Reset queued (a safety backup first)', message: MESSAGE },
            {
              claimToken: z.string().meta({
                description: 'Once: POST /api/auth/reset-claim { jobId, claimToken } gives the new SuperAdmin password',
              }),
            },
            { claimToken: 'q3JxN0c2k9V1bWx0ZTh5aG9uM2ZrZ2x0c2R4cDJ3YQ' },
          ),
          ...errorResponses([
            ...ADMIN_ERRORS,
            ...BODY_ERRORS,
            'INVALID_CONFIRMATION_TOKEN',
            'MAINTENANCE_ACTIVE',
            'OPERATION_IN_PROGRESS',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request, reply) => {
      const queued = await requestReset(deps, {
        confirmationToken: request.body.confirmationToken,
        createdBy: request.user.username,
      });
      return reply.code(202).send(accepted(queued, MESSAGE));
    },
  );
};

export default resetRoute;
