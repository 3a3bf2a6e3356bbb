import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkDependencies } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';

// Type and id are checked by core, so an unknown type answers UNSUPPORTED_ENTITY_TYPE with the supported list.
const params = z.object({ entityType: z.string().min(1).max(64), entityId: z.string().max(64) }).strict();

/** GET /api/backup/dependencies/:entityType/:entityId: what depends on a user, union, union member or loan type. */
const dependencyRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/dependencies/:entityType/:entityId',
    { schema: { tags: ['dependencies'], summary: 'Can this entity be deleted, and what depends on it', params } },
    async (request) => ok(await checkDependencies(deps, request.params)),
  );
};

export default dependencyRoutes;
