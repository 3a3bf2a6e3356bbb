import type { preHandlerAsyncHookHandler } from 'fastify';
import { assertNotInMaintenanceOn } from '@mp/core';
import type { ApiDeps } from '../deps.js';

/**
 * preHandler for every mutating backup route (create, delete, restore, reset, schedule PUT, verify):
 * 503 MAINTENANCE_ACTIVE while a restore or reset runs. Reads never use it, so they keep working.
 * Use: `{ preHandler: rejectDuringMaintenance(deps) }` in the route options.
 */
export function rejectDuringMaintenance(deps: Pick<ApiDeps, 'pool'>): preHandlerAsyncHookHandler {
  return async () => {
    await assertNotInMaintenanceOn(deps.pool);
  };
}
