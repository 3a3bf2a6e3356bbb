import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { z } from 'zod';
import { AppError, requestEntityRestore, type RestoreSource } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted } from '../../reply.js';
import { operationAccepted } from '../../schemas/accepted.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses } from '../../schemas/envelope.js';
import { documentOnly, saveUpload } from './restore-input.js';

// entityType is checked by core (UNSUPPORTED_ENTITY_TYPE lists the supported ones), like the dependency check.
const target = { entityType: z.string().min(1), entityId: z.string().min(1) };
const jsonBody = z
  .object({ backupId: z.uuid(), ...target })
  .strict()
  .meta({
    examples: [
      {
        backupId: '1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c',
        entityType: 'union',
        entityId: '4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c',
      },
    ],
  });
const uploadFields = z.object(target);

interface EntityRequest {
  source: RestoreSource;
  entityType: string;
  entityId: string;
}

function invalid(error: z.ZodError): AppError {
  return new AppError(
    'VALIDATION_ERROR',
    'Request validation failed',
    error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message })),
  );
}

/**
 * JSON `{ backupId, entityType, entityId }`, or multipart fields `entityType`, `entityId`, then the file as field
 * `file`.
 */
async function readEntityRequest(
  request: FastifyRequest,
  uploadDir: string,
  operationId: string,
): Promise<EntityRequest> {
  if (!request.isMultipart()) {
    const parsed = jsonBody.safeParse(request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    const { backupId, ...rest } = parsed.data;
    return { source: { kind: 'backup', backupId }, ...rest };
  }
  const part = await request.file();
  if (!part || part.fieldname !== 'file') {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', [
      { path: 'body.file', message: 'upload the backup as field "file", after entityType and entityId' },
    ]);
  }
  const value = (name: string) => {
    const field = part.fields[name];
    return field && !Array.isArray(field) && field.type === 'field' ? String(field.value) : undefined;
  };
  const fields = uploadFields.safeParse({ entityType: value('entityType'), entityId: value('entityId') });
  if (!fields.success) {
    part.file.resume(); // the rest of the upload is not wanted
    throw invalid(fields.error);
  }
  const saved = await saveUpload(part.file, uploadDir, operationId, () => part.file.truncated);
  return { source: { kind: 'file', path: saved.path }, ...fields.data };
}

/**
 * POST /api/backup/restore/entity → 202; the worker re-inserts the entity and what hangs off it where missing live.
 */
const restoreEntityRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  // Multipart only in this plugin's scope; an upload is streamed to disk, never held in memory.
  await app.register(fastifyMultipart, {
    limits: { fileSize: deps.config.RESTORE_UPLOAD_LIMIT_MB * 1024 * 1024, files: 1, fields: 3, parts: 4 },
  });
  app.post(
    '/api/backup/restore/entity',
    {
      preHandler: rejectDuringMaintenance(deps),
      validatorCompiler: documentOnly,
      schema: {
        tags: ['backup'],
        summary: 'Bring back one deleted entity (union, unionMember, loan, user, loanType) and what hangs off it',
        description:
          'JSON `{ backupId, entityType, entityId }`, or a multipart upload (fields `entityType`, `entityId`, then ' +
          'the file as `file`). ' +
          'Inserts the entity and what hangs off it (a union with its members, their loans and repayments) where ' +
          'missing live, ' +
          'with the parents it needs; never overwrites a live row. The job result lists rows inserted per table, ' +
          'identical rows skipped, ' +
          'conflicts (same id, other content: the live row is kept) and restored parents. An entity the file lacks ' +
          'fails the job with ENTITY_NOT_IN_BACKUP; ' +
          'a unique value held by another live row fails it with ENTITY_RESTORE_CONFLICT and `problems`.',
        body: jsonBody,
        response: {
          202: operationAccepted({ description: 'Entity restore queued', message: 'Entity restore queued' }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            ...BODY_ERRORS,
            'UNSUPPORTED_ENTITY_TYPE',
            'INVALID_BACKUP_FILE',
            'MAINTENANCE_ACTIVE',
            'OPERATION_IN_PROGRESS',
            'BACKUP_NOT_FOUND',
            'BACKUP_NOT_READY',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request, reply) => {
      const operationId = randomUUID();
      const input = await readEntityRequest(request, deps.config.UPLOAD_DIR, operationId);
      const queued = await requestEntityRestore(deps, {
        ...input,
        operationId,
        createdBy: request.user.username,
        actorId: request.user.id,
      });
      return reply.code(202).send(accepted(queued, 'Entity restore queued'));
    },
  );
};

export default restoreEntityRoute;
