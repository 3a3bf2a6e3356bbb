import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getBackup, openBackupDownload, toBackupDetail } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { BACKUP_DOCUMENT_EXAMPLE } from '../../schemas/backup-document.js';
import { BACKUP_DETAIL_EXAMPLE, backupDetailSchema } from '../../schemas/backups.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { backupIdParams } from '../../schemas/params.js';

/** The file is streamed (never serialized); /docs shows it as binary. */
const file = z.custom<Readable>().meta({ type: 'string', format: 'binary' });

/** GET /api/backup/:id and GET /api/backup/download/:id (local copy streamed, cloud copy 302 to a signed URL). */
const readRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/:id',
    {
      schema: {
        tags: ['backup'],
        summary: 'One backup record',
        params: backupIdParams,
        response: {
          200: okResponse(backupDetailSchema, { description: 'The record', example: BACKUP_DETAIL_EXAMPLE }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR', 'BACKUP_NOT_FOUND']),
        },
      },
    },
    async (request) => ok(toBackupDetail(await getBackup(deps, request.params))),
  );

  app.get(
    '/api/backup/download/:id',
    {
      schema: {
        tags: ['backup'],
        summary: 'Download a backup file',
        description:
          'The local copy, streamed as stored: `.json` (application/json), `.json.gz` (application/gzip) or an ' +
          'encrypted `.enc` ' +
          '(application/octet-stream), with Content-Disposition and `X-Backup-Checksum: sha256=<hex>`. A backup ' +
          'kept only in ' +
          'Cloudinary answers 302 to an expiring signed URL.',
        params: backupIdParams,
        response: {
          200: {
            description: 'The backup file as stored: a backup document (format 1.x), gzip, or encrypted',
            content: {
              'application/json': { schema: file.meta({ example: BACKUP_DOCUMENT_EXAMPLE }) },
              'application/gzip': { schema: file },
              'application/octet-stream': { schema: file },
            },
          },
          302: z
            .undefined()
            .meta({ description: 'The copy is in Cloudinary only: follow Location (a signed URL that expires)' }),
          ...errorResponses([
            ...ADMIN_ERRORS,
            'VALIDATION_ERROR',
            'BACKUP_NOT_FOUND',
            'BACKUP_NOT_READY',
            'BACKUP_FILE_MISSING',
            'CLOUD_STORAGE_NOT_CONFIGURED',
          ]),
        },
      },
    },
    async (request, reply) => {
      const found = await openBackupDownload(deps, {
        id: request.params.id,
        urlTtlSeconds: deps.config.CLOUDINARY_URL_TTL_SECONDS,
      });
      if (found.kind === 'redirect') return reply.redirect(found.url, 302);
      reply.header('Content-Type', found.contentType).header('Content-Length', found.size);
      reply.header('Content-Disposition', `attachment; filename="${found.filename}"`);
      if (found.checksum) reply.header('X-Backup-Checksum', `sha256=${found.checksum}`);
      return reply.send(found.stream);
    },
  );
};

export default readRoutes;
