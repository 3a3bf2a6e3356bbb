import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { backupLabelsSchema, COMPRESSIONS, requestBackup } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { accepted } from '../../reply.js';
import { acceptedResponse } from '../../schemas/accepted.js';
import { ADMIN_ERRORS, BODY_ERRORS, errorResponses } from '../../schemas/envelope.js';
import { BACKUP_EXAMPLE } from '../../schemas/backups.js';

const createBody = z
  .object({
    includeAuditLogs: z.boolean().default(false),
    includeSessions: z.boolean().default(false),
    location: z.enum(['local', 'cloud', 'both']).default('local'),
    /**
     * Codec of a file past the compression threshold: gzip (the default, the seed's format) or zstd (faster, smaller).
     */
    compression: z.enum(COMPRESSIONS).default('gzip'),
    /** Free-form labels, e.g. `{ reason: "pre-migration" }`: shown and filterable in the list. */
    labels: backupLabelsSchema.default({}),
  })
  .strict()
  .meta({
    examples: [
      { includeAuditLogs: false, includeSessions: false, location: 'local', labels: { reason: 'before-upgrade' } },
    ],
  })
  // fastify passes `null` when there is no body at all: that means "all defaults".
  .nullable()
  .transform(
    (b) =>
      b ?? {
        includeAuditLogs: false,
        includeSessions: false,
        location: 'local' as const,
        compression: 'gzip' as const,
        labels: {},
      },
  );

/** POST /api/backup/create → 202; the worker does the export. */
const createRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/create',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Queue a manual backup',
        body: createBody,
        response: {
          202: acceptedResponse(
            { backupId: z.uuid(), filename: z.string(), status: z.literal('queued') },
            {
              description: 'Backup queued',
              message: 'Backup queued',
              example: {
                jobId: BACKUP_EXAMPLE.id,
                backupId: BACKUP_EXAMPLE.id,
                filename: BACKUP_EXAMPLE.filename,
                status: 'queued',
              },
            },
          ),
          ...errorResponses([
            ...ADMIN_ERRORS,
            ...BODY_ERRORS,
            'CLOUD_STORAGE_NOT_CONFIGURED',
            'MAINTENANCE_ACTIVE',
            'OPERATION_IN_PROGRESS',
            'QUEUE_UNAVAILABLE',
          ]),
        },
      },
    },
    async (request, reply) => {
      const { location, labels, ...options } = request.body;
      const queued = await requestBackup(deps, {
        location,
        options,
        labels,
        createdBy: request.user.username,
        type: 'manual',
      });
      return reply.code(202).send(accepted(queued, 'Backup queued'));
    },
  );
};

export default createRoute;
