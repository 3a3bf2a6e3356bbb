import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getJobStatus } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { toJobStatusView } from '../../views/job-status-view.js';
import { JOB_EXAMPLE, jobStatusSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { jobIdParams } from '../../schemas/params.js';

/** GET /api/backup/jobs/:jobId: state of any backup job, still answered after BullMQ dropped the job. */
const jobsRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/jobs/:jobId',
    {
      schema: {
        tags: ['backup'],
        summary: 'Job status and progress',
        description:
          'kind, state (queued, running, completed, partial, failed), progress, result (of a finished job), error ' +
          '(one line), ' +
          'problems (a refused restore: `[{ table, row, field, problem, message }]`, else null), attempts, times. ' +
          'A failed job says why in `error`; a restore refused for its file (INVALID_BACKUP_FILE, ' +
          'RESTORE_WOULD_BREAK_REFERENCES, ' +
          'ENTITY_RESTORE_CONFLICT) lists what is wrong in `problems`.',
        params: jobIdParams,
        response: {
          200: okResponse(jobStatusSchema, { description: 'The job', example: JOB_EXAMPLE }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR', 'JOB_NOT_FOUND']),
        },
      },
    },
    async (request) => ok(toJobStatusView(await getJobStatus(deps, { jobId: request.params.jobId }))),
  );
};

export default jobsRoute;
