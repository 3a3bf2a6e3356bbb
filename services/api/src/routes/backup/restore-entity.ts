import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestEntityRestore } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { rejectDuringMaintenance } from '../../plugins/maintenance-guard.js';
import { ok } from '../../reply.js';

// entityType is checked by core (UNSUPPORTED_ENTITY_TYPE lists the supported ones), like the dependency check.
const body = z.object({ backupId: z.string().uuid(), entityType: z.string().min(1), entityId: z.string().min(1) }).strict();

/** POST /api/backup/restore/entity → 202; the worker re-inserts the entity and what hangs off it where missing live. */
const restoreEntityRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/backup/restore/entity',
    {
      preHandler: rejectDuringMaintenance(deps),
      schema: {
        tags: ['backup'],
        summary: 'Bring back one deleted entity (union, unionMember, loan, user, loanType) from a stored backup',
        description:
          'Inserts the entity and what hangs off it (a union with its members, their loans and repayments) where missing live, ' +
          'with the parents it needs; never overwrites a live row (conflicts are reported). The job result lists inserted rows per table, ' +
          'identical rows skipped, conflicts and restored parents; an entity the backup lacks fails with ENTITY_NOT_IN_BACKUP.',
        body,
      },
    },
    async (request, reply) => {
      const accepted = await requestEntityRestore(deps, { ...request.body, createdBy: request.user.username, actorId: request.user.id });
      return reply.code(202).send(ok({ ...accepted, statusUrl: `/api/backup/jobs/${accepted.jobId}` }, 'Entity restore queued'));
    },
  );
};

export default restoreEntityRoute;
