import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getJobStatus } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { toJobStatusView } from '../../views/job-status-view.js';

// Record ids (uuids) and BullMQ's scheduler ids (`repeat:<scheduler>:<ms>`); anything else (a NUL byte
// made PostgreSQL fail with a 500) is a 400 before any lookup.
const params = z.object({ jobId: z.string().regex(/^[A-Za-z0-9:._-]{1,200}$/, 'not a job id') }).strict();

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
    async (request) => ok(toJobStatusView(await getJobStatus(deps, { jobId: request.params.jobId }))),
  );
};

export default jobsRoute;
