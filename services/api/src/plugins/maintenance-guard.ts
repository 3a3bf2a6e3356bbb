import type { preHandlerAsyncHookHandler } from 'fastify';
import { assertNotInMaintenance } from '@mp/core';
import type { ApiDeps } from '../deps.js';

/**
 * preHandler for every mutating backup route (create, delete, restore, reset, schedule PUT, verify):
 * 503 MAINTENANCE_ACTIVE while a restore or reset runs. Reads never use it, so they keep working.
 * Use: `{ preHandler: rejectDuringMaintenance(deps) }` in the route options.
 * The common answer ("not in maintenance") is one prepared node-pg statement, which keeps Prisma (and its
 * WebAssembly query compiler) off the hot enqueue path; only an active row goes through the core check,
 * which builds the error.
 */
export function rejectDuringMaintenance(deps: Pick<ApiDeps, 'prisma' | 'pool'>): preHandlerAsyncHookHandler {
  return async () => {
    const { rows } = await deps.pool.query({
      name: 'mp-maintenance-active',
      text: `SELECT 1 FROM maintenance_state WHERE id = 'global' AND active`,
    });
    if (rows.length > 0) await assertNotInMaintenance(deps.prisma);
  };
}
