import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestBackup } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const createBody = z
  .object({
    includeAuditLogs: z.boolean().default(false),
    includeSessions: z.boolean().default(false),
    location: z.enum(['local', 'cloud', 'both']).default('local'),
  })
  .strict()
  // fastify passes `null` when there is no body at all: that means "all defaults".
  .nullable()
  .transform((b) => b ?? { includeAuditLogs: false, includeSessions: false, location: 'local' as const });

/** POST /api/backup/create → 202; the worker does the export. */
const createRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/create',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: 'Queue a manual backup', body: createBody } },
    async (request, reply) => {
      const { location, ...options } = request.body;
      const accepted = await requestBackup(deps, { location, options, createdBy: request.user.username, type: 'manual' });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Backup queued'));
    },
  );
};

export default createRoute;
