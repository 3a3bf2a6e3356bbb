import { EXCLUSIVE_RUN_LOCK, exitMaintenance, STAGING_SCHEMA_PREFIX } from '@mp/core';
import type { WorkerDeps } from './deps.js';

/**
 * Cleans up after a worker that died during a restore or reset: when no live worker holds the
 * run lock, maintenance mode is turned off and operations still marked running are failed.
 * (Their transaction died with the connection, so the database is as it was before them.)
 */
export async function recoverInterrupted(deps: Pick<WorkerDeps, 'pool' | 'prisma' | 'logger'>): Promise<void> {
  const client = await deps.pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [EXCLUSIVE_RUN_LOCK]);
    if (!rows[0]?.ok) return; // another worker is running one right now
    try {
      const { count } = await deps.prisma.operation.updateMany({
        where: { kind: { in: ['restore', 'reset'] }, status: 'running' },
        data: { status: 'failed', error: 'Interrupted: the worker stopped during the operation; nothing was changed', completedAt: new Date() },
      });
      const cleared = await exitMaintenance(deps.prisma);
      // A restore killed mid-way leaves its staging schema behind (never the live tables).
      const { rows: schemas } = await client.query<{ name: string }>(
        `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)`,
        [STAGING_SCHEMA_PREFIX],
      );
      for (const { name } of schemas) await client.query(`DROP SCHEMA ${JSON.stringify(name)} CASCADE`);
      if (count > 0 || cleared || schemas.length > 0) {
        deps.logger.warn({ interrupted: count, maintenanceCleared: cleared, stagingDropped: schemas.length }, 'recovered from an interrupted restore/reset');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [EXCLUSIVE_RUN_LOCK]);
    }
  } finally {
    client.release();
  }
}
