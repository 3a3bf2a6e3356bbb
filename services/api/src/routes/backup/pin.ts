import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pinBackup, toBackupView, unpinBackup } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';
import { BACKUP_EXAMPLE, backupViewSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { backupIdParams } from '../../schemas/params.js';

const pinBody = z
  .object({ note: z.string().trim().max(500, 'a pin note is at most 500 characters').nullable().default(null) })
  .strict()
  .meta({ examples: [{ note: 'Last backup before the 2026 audit' }] })
  .nullable()
  .transform((b) => b ?? { note: null });

const PINNED = {
  ...BACKUP_EXAMPLE,
  pinned: true,
  pinNote: 'Last backup before the 2026 audit',
  pinnedAt: '2026-11-24T12:00:00.000Z',
  pinnedBy: 'admin',
};

/** POST /api/backup/:id/pin and /unpin: a pinned backup is never pruned. */
const pinRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/:id/pin',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Pin a backup (retention never deletes it), with a note',
        params: backupIdParams,
        body: pinBody,
        response: {
          200: okResponse(backupViewSchema, {
            description: 'The pinned record',
            message: 'Backup pinned',
            example: PINNED,
          }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            ...BODY_ERRORS,
            'BACKUP_NOT_FOUND',
            'BACKUP_NOT_READY',
            'MAINTENANCE_ACTIVE',
          ]),
        },
      },
    },
    async (request) => {
      const note = request.body.note || null;
      const record = await pinBackup(deps, { id: request.params.id, note, actor: request.user.username });
      return ok(toBackupView(record), 'Backup pinned');
    },
  );

  app.post(
    '/api/backup/:id/unpin',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Unpin a backup',
        params: backupIdParams,
        response: {
          200: okResponse(backupViewSchema, {
            description: 'The unpinned record',
            message: 'Backup unpinned',
            example: BACKUP_EXAMPLE,
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR', 'BACKUP_NOT_FOUND', 'MAINTENANCE_ACTIVE']),
        },
      },
    },
    async (request) => ok(toBackupView(await unpinBackup(deps, request.params)), 'Backup unpinned'),
  );
};

export default pinRoutes;
