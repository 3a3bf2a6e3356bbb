import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestVerify } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const params = z.object({ id: z.string().uuid() }).strict();

/** POST /api/backup/:id/verify → 202; the worker checks the stored file and writes the report on the record. */
const verifyRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/:id/verify',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: 'Verify a stored backup', params } },
    async (request, reply) => {
      const accepted = await requestVerify(deps, { backupId: request.params.id, createdBy: request.user.username });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Verification queued'));
    },
  );
};

export default verifyRoute;
