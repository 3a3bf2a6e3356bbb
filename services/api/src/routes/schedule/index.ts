import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getBackupSchedule, previewPrune, updateBackupSchedule } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import {
  PRUNE_PREVIEW_EXAMPLE,
  previewQuery,
  prunePreviewSchema,
  SCHEDULE_EXAMPLE,
  scheduleBody,
  scheduleViewSchema,
} from '../../schemas/schedule.js';

/** GET, PUT /api/backup/schedule and GET /api/backup/retention/preview (admin scope). */
const scheduleRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  // The zone the 02:00 runs are read in; the worker re-asserts the scheduler with the same setting.
  const timezone = deps.config.BACKUP_TIMEZONE;

  app.get(
    '/api/backup/schedule',
    {
      schema: {
        tags: ['schedule'],
        summary: 'The backup schedule, with last and next run',
        response: {
          200: okResponse(scheduleViewSchema, { description: 'The schedule', example: SCHEDULE_EXAMPLE }),
          ...errorResponses([...ADMIN_ERRORS, 'QUEUE_UNAVAILABLE']),
        },
      },
    },
    async () => ok(await getBackupSchedule(deps, { timezone })),
  );

  app.put(
    '/api/backup/schedule',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['schedule'],
        summary: 'Change the backup schedule (and its job scheduler)',
        description:
          'Fields left out keep their stored value; unknown fields are a 400. All or nothing: when Redis cannot ' +
          'take the new scheduler, nothing changes (QUEUE_UNAVAILABLE).',
        body: scheduleBody,
        response: {
          200: okResponse(scheduleViewSchema, {
            description: 'The schedule as stored now',
            message: 'Backup schedule updated',
            example: SCHEDULE_EXAMPLE,
          }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            ...BODY_ERRORS,
            'CLOUD_STORAGE_NOT_CONFIGURED',
            'MAINTENANCE_ACTIVE',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request) =>
      ok(
        await updateBackupSchedule(deps, request.body, { timezone, actor: request.user.username }),
        'Backup schedule updated',
      ),
  );

  app.get(
    '/api/backup/retention/preview',
    {
      schema: {
        tags: ['schedule'],
        summary: 'What the retention prune would keep and delete now, and why',
        querystring: previewQuery,
        response: {
          200: okResponse(prunePreviewSchema, {
            description: 'Every backup with its decision',
            example: PRUNE_PREVIEW_EXAMPLE,
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR']),
        },
      },
    },
    async (request) => ok(await previewPrune(deps, { ...request.query, timeZone: timezone })),
  );
};

export default scheduleRoutes;
