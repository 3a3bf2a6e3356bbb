import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getJobStatus } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

const params = z.object({ jobId: z.string().min(1).max(200) }).strict();

/** GET /api/backup/jobs/:jobId: state of any backup job, still answered after BullMQ dropped the job. */
const jobsRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/jobs/:jobId',
    {
      schema: {
        tags: ['backup'],
        summary: 'Job status and progress',
        description:
          'kind, state (queued, running, completed, partial, failed), progress, result (of a finished job), error (one line), ' +
          'problems (a refused restore: `[{ table, row, field, problem, message }]`, else null), attempts, times.',
        params,
      },
    },
    async (request) => ok(await getJobStatus(deps, { jobId: request.params.jobId })),
  );
};

export default jobsRoute;
