import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pinBackup, toBackupView, unpinBackup } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

const params = z.object({ id: z.uuid() }).strict();
const pinBody = z
  .object({ note: z.string().trim().max(500, 'a pin note is at most 500 characters').nullable().default(null) })
  .strict()
  .nullable()
  .transform((b) => b ?? { note: null });

/** POST /api/backup/:id/pin and /unpin: a pinned backup is never pruned. */
const pinRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/:id/pin',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: { tags: ['backup'], summary: 'Pin a backup (retention never deletes it), with a note', params, body: pinBody },
    },
    async (request) => {
      const note = request.body.note || null;
      const record = await pinBackup(deps, { id: request.params.id, note, actor: request.user.username });
      return ok(toBackupView(record), 'Backup pinned');
    },
  );

  app.post(
    '/api/backup/:id/unpin',
    { preHandler: rejectDuringMaintenance(deps), schema: { tags: ['backup'], summary: 'Unpin a backup', params } },
    async (request) => ok(toBackupView(await unpinBackup(deps, request.params)), 'Backup unpinned'),
  );
};

export default pinRoutes;
