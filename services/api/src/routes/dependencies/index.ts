import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { checkDependencies } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { ok } from '../../reply.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { entityParams } from '../../schemas/params.js';
import { DEPENDENCY_EXAMPLE, dependencyReportSchema } from '../../schemas/system.js';

/** GET /api/backup/dependencies/:entityType/:entityId: what depends on a user, union, union member or loan type. */
const dependencyRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/backup/dependencies/:entityType/:entityId',
    {
      schema: {
        tags: ['dependencies'],
        summary: 'Can this entity be deleted, and what depends on it',
        description:
          'UNSUPPORTED_ENTITY_TYPE lists the supported types in `details.supported`; VALIDATION_ERROR for an id ' +
          'that is not a UUID.',
        params: entityParams,
        response: {
          200: okResponse(dependencyReportSchema, {
            description: 'The counts and the verdict',
            example: DEPENDENCY_EXAMPLE,
          }),
          ...errorResponses([...ADMIN_ERRORS, 'VALIDATION_ERROR', 'UNSUPPORTED_ENTITY_TYPE', 'ENTITY_NOT_FOUND']),
        },
      },
    },
    async (request) => ok(await checkDependencies(deps, request.params)),
  );
};

export default dependencyRoutes;
