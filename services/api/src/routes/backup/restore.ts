import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import fastifyMultipart from '@fastify/multipart';
import { requestPreview, requestRestore, type ErrorCode } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted } from '../../reply.js';
import { operationAccepted } from '../../schemas/accepted.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses } from '../../schemas/envelope.js';
import { documentOnly, previewJsonBody, readRestoreInput, restoreJsonBody } from './restore-input.js';

/** What reading the input refuses, before anything is queued. */
const INPUT_ERRORS: ErrorCode[] = [
  ...BODY_ERRORS,
  'INVALID_BACKUP_FILE',
  'UNSUPPORTED_BACKUP_VERSION',
  'BACKUP_NOT_FOUND',
  'BACKUP_NOT_READY',
  'QUEUE_UNAVAILABLE',
];

/**
 * POST /api/backup/restore → 202. JSON `{ backupId }` or `{ backupData }`, or multipart field `file`
 * (.json / .json.gz); optional `tables` (selective) and `withDependencies`.
 * POST /api/backup/restore/preview → 202: the same inputs (plus an entity), a read-only `backup.preview` job.
 * Multipart is registered only in this plugin's scope, so no other route accepts uploads.
 */
const restoreRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const limit = deps.config.RESTORE_BODY_LIMIT_MB * 1024 * 1024;
  // An upload is streamed to disk, never held in memory, so its limit is its own (bodyLimit covers JSON).
  const uploadLimit = deps.config.RESTORE_UPLOAD_LIMIT_MB * 1024 * 1024;
  await app.register(fastifyMultipart, { limits: { fileSize: uploadLimit, files: 1, fields: 8, parts: 9 } });
  app.post(
    '/api/backup/restore',
    {
      bodyLimit: limit,
      preHandler: rejectDuringMaintenance(deps),
      validatorCompiler: documentOnly,
      schema: {
        tags: ['backup'],
        summary: 'Queue a restore (backupId, backupData or uploaded file)',
        description:
          'JSON `{ backupId }` or `{ backupData }`, or a multipart upload (field `file`, after the fields). ' +
          'Options: `skipSafetyBackup` (no background pre-restore file; the restore point for undo is kept anyway); ' +
          '`tables: ["loanTypes", "unions"]` replaces only those tables (multipart: one comma-separated `tables` ' +
          'field), refused with ' +
          '`RESTORE_WOULD_BREAK_REFERENCES` and its `problems` when references between restored and kept tables ' +
          'would break; ' +
          '`withDependencies: true` adds the tables they depend on (the result lists them in `addedByDependencies`); ' +
          '`allowNoAdmin: true` restores even a file that leaves no active ADMIN with a usable password (refused by ' +
          'default). ' +
          'A file that fails validation makes the job fail with a one-line `error` and the list in `problems` (GET ' +
          '/api/backup/jobs/:jobId).',
        body: restoreJsonBody,
        response: {
          202: operationAccepted({ description: 'Restore queued', message: 'Restore queued' }),
          ...errorResponses([...ADMIN_ERRORS, ...INPUT_ERRORS, 'MAINTENANCE_ACTIVE', 'OPERATION_IN_PROGRESS']),
        },
      },
    },
    async (request, reply) => {
      const operationId = randomUUID();
      const input = await readRestoreInput(request, deps.config.UPLOAD_DIR, operationId);
      const queued = await requestRestore(deps, { ...input, operationId, createdBy: request.user.username });
      return reply.code(202).send(accepted(queued, 'Restore queued'));
    },
  );
  app.post(
    '/api/backup/restore/preview',
    {
      bodyLimit: limit,
      validatorCompiler: documentOnly,
      schema: {
        tags: ['backup'],
        summary: 'Queue a restore preview (what a restore would add, remove and change)',
        description:
          'The same inputs as POST /api/backup/restore (`backupId`, `backupData` or an uploaded `file`; `tables`, ' +
          '`withDependencies`), ' +
          'or `{ backupId, entityType, entityId }`. A read-only job: the file is staged into its own schema and ' +
          'compared with the live ' +
          'tables; nothing live changes and maintenance mode stays off. The job result (GET ' +
          '/api/backup/jobs/:jobId) is a RestorePreview: ' +
          'per table rows in the file, rows live, added/removed/changed (by primary key and row hash), the first ' +
          'changed keys; ' +
          'the references that would break; an estimated duration.',
        body: previewJsonBody,
        response: {
          202: operationAccepted({ description: 'Restore preview queued', message: 'Restore preview queued' }),
          ...errorResponses([...ADMIN_ERRORS, ...INPUT_ERRORS, 'UNSUPPORTED_ENTITY_TYPE']),
        },
      },
    },
    async (request, reply) => {
      const operationId = randomUUID();
      const input = await readRestoreInput(request, deps.config.UPLOAD_DIR, operationId, { preview: true });
      const queued = await requestPreview(deps, {
        source: input.source,
        tables: input.tables,
        withDependencies: input.withDependencies,
        entity: input.entity,
        operationId,
        createdBy: request.user.username,
      });
      return reply.code(202).send(accepted(queued, 'Restore preview queued'));
    },
  );
};

export default restoreRoute;
