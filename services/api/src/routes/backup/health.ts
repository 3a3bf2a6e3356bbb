import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { checkBackupHealth, healthSettingsOf } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { healthReportSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';

const EXAMPLE = {
  healthy: false,
  checks: [
    {
      name: 'backup_age',
      ok: true,
      message: 'Newest completed backup 1f0c9a2b is 3.2 h old (limit 26 h)',
      value: 11520,
      limit: 93600,
    },
    { name: 'drill', ok: false, message: 'No successful restore drill in the last 8 days', value: null, limit: 691200 },
  ],
};

/**
 * GET /api/backup/health → `{ healthy, checks: [{ name, ok, message, value, limit }] }` (always 200: an
 * unhealthy answer is still an answer; `/healthz/backups` gives monitors a 503). Messages carry ids, sizes and
 * times only.
 */
const healthRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const settings = healthSettingsOf(deps.config);
  app.get(
    '/api/backup/health',
    {
      schema: {
        tags: ['backup'],
        summary: 'Backup health: every check, with its value and limit',
        response: {
          200: okResponse(healthReportSchema, {
            description: 'Healthy or not, with every check (200 either way)',
            example: EXAMPLE,
          }),
          ...errorResponses(ADMIN_ERRORS),
        },
      },
    },
    async () => ok(await checkBackupHealth(deps, { timezone: deps.config.BACKUP_TIMEZONE, settings })),
  );
};

export default healthRoute;
