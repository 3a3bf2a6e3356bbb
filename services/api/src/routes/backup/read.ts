import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getBackup, openBackupDownload, toBackupDetail } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

const params = z.object({ id: z.uuid() }).strict();

/** GET /api/backup/:id and GET /api/backup/download/:id (local copy streamed, cloud copy 302 to a signed URL). */
const readRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get('/api/backup/:id', { schema: { tags: ['backup'], summary: 'One backup record', params } }, async (request) =>
    ok(toBackupDetail(await getBackup(deps, request.params))),
  );

  app.get('/api/backup/download/:id', { schema: { tags: ['backup'], summary: 'Download a backup file', params } }, async (request, reply) => {
    const found = await openBackupDownload(deps, { id: request.params.id, urlTtlSeconds: deps.config.CLOUDINARY_URL_TTL_SECONDS });
    if (found.kind === 'redirect') return reply.redirect(found.url, 302);
    reply.header('Content-Type', found.contentType).header('Content-Length', found.size);
    reply.header('Content-Disposition', `attachment; filename="${found.filename}"`);
    if (found.checksum) reply.header('X-Backup-Checksum', `sha256=${found.checksum}`);
    return reply.send(found.stream);
  });
};

export default readRoutes;
