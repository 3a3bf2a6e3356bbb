import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import fastifyMultipart from '@fastify/multipart';
import { requestRestore } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';
import { readRestoreInput } from './restore-input.js';

/**
 * POST /api/backup/restore → 202. JSON `{ backupId }` or `{ backupData }`, or multipart field `file`
 * (.json / .json.gz). The body is parsed by hand (not a route schema) because multipart has no JSON body.
 * Multipart is registered only in this plugin's scope, so no other route accepts uploads.
 */
const restoreRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const limit = deps.config.RESTORE_BODY_LIMIT_MB * 1024 * 1024;
  // An upload is streamed to disk, never held in memory, so its limit is its own (bodyLimit covers JSON).
  const uploadLimit = deps.config.RESTORE_UPLOAD_LIMIT_MB * 1024 * 1024;
  await app.register(fastifyMultipart, { limits: { fileSize: uploadLimit, files: 1, fields: 5, parts: 6 } });
  app.post(
    '/api/backup/restore',
    {
      bodyLimit: limit,
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Queue a restore (backupId, backupData or uploaded file)',
        description:
          'JSON `{ backupId }` or `{ backupData }`, or a multipart upload (field `file`, after the fields). Options: `skipSafetyBackup` (no background pre-restore file; the restore point for undo is kept anyway); ' +
          '`allowNoAdmin: true` restores even a file that leaves no active ADMIN with a usable password (refused by default). ' +
          'A file that fails validation makes the job fail with a one-line `error` and the list in `problems` (GET /api/backup/jobs/:jobId).',
      },
    },
    async (request, reply) => {
      const operationId = randomUUID();
      const input = await readRestoreInput(request, deps.config.UPLOAD_DIR, operationId);
      const accepted = await requestRestore(deps, { ...input, operationId, createdBy: request.user.username });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Restore queued'));
    },
  );
};

export default restoreRoute;
