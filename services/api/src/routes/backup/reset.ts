import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestReset } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const body = z.object({ confirmationToken: z.string().max(100) }).strict();

/** POST /api/backup/reset { confirmationToken: "DELETE" } → 202; the worker wipes and recreates SuperAdmin. */
const resetRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/reset',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: 'Queue a full data reset', body } },
    async (request, reply) => {
      const accepted = await requestReset(deps, { confirmationToken: request.body.confirmationToken, createdBy: request.user.username });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Reset queued. Keep claimToken: every account is deleted, and it is the only way to get the new SuperAdmin password (POST /api/auth/reset-claim)'));
    },
  );
};

export default resetRoute;
