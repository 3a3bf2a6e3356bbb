import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getBackupSchedule, previewPrune, scheduleSettingsSchema, updateBackupSchedule } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

/** Fields left out keep their stored value; unknown fields are a 400. */
const scheduleBody = scheduleSettingsSchema.partial().strict();
const previewQuery = z.object({ retentionDays: z.coerce.number().int().min(1).max(3650).optional() }).strict();

/** GET, PUT /api/backup/schedule and GET /api/backup/retention/preview (admin scope). */
const scheduleRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  // The zone the 02:00 runs are read in; the worker re-asserts the scheduler with the same setting.
  const timezone = deps.config.BACKUP_TIMEZONE;

  app.get('/api/backup/schedule', { schema: { tags: ['schedule'], summary: 'The backup schedule, with last and next run' } }, async () =>
    ok(await getBackupSchedule(deps, { timezone })),
  );

  app.put(
    '/api/backup/schedule',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: { tags: ['schedule'], summary: 'Change the backup schedule (and its job scheduler)', body: scheduleBody },
    },
    async (request) =>
      ok(await updateBackupSchedule(deps, request.body, { timezone, actor: request.user.username }), 'Backup schedule updated'),
  );

  app.get(
    '/api/backup/retention/preview',
    {
      schema: { tags: ['schedule'], summary: 'What the retention prune would keep and delete now, and why', querystring: previewQuery },
    },
    async (request) => ok(await previewPrune(deps, { ...request.query, timeZone: timezone })),
  );
};

export default scheduleRoutes;
