import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { checkBackupHealth, healthSettingsOf } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

/**
 * GET /api/backup/health → `{ healthy, checks: [{ name, ok, message, value, limit }] }` (always 200: an
 * unhealthy answer is still an answer; `/healthz/backups` gives monitors a 503). Messages carry ids, sizes and
 * times only.
 */
const healthRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const settings = healthSettingsOf(deps.config);
  app.get('/api/backup/health', { schema: { tags: ['backup'], summary: 'Backup health: every check, with its value and limit' } }, async () =>
    ok(await checkBackupHealth(deps, { timezone: deps.config.BACKUP_TIMEZONE, settings })),
  );
};

export default healthRoute;
