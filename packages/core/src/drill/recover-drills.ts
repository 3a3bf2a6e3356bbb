import type { PgPool, PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import {
  DRILL_DATABASE_PREFIX,
  drillDatabaseName,
  dropScratchDatabase,
  releaseDrillLock,
  scratchComment,
  tryDrillLock,
} from './scratch-database.js';

/** What a drill interrupted by a dying worker is told. */
export const DRILL_INTERRUPTED =
  'Interrupted: the worker stopped during the drill; its scratch database was dropped (live data was never touched)';

/**
 * Cleans up after workers that died mid-drill: every scratch database (`mp_drill_*`) of this live
 * database (its comment says so, see `createScratchDatabase`) whose drill lock no live session holds is dropped, and
 * drill operations still marked running whose lock is free are
 * failed with {@link DRILL_INTERRUPTED}. A running drill holds its lock for as long as its database
 * exists, so this never touches one in progress, on this worker or another. Safe to run on several
 * workers at once (each database is dropped under its own lock).
 * Trap: operations marked running within the last second are left alone (their worker may be about to
 * take the lock).
 */
export async function dropAbandonedDrills(deps: {
  pool: PgPool;
  prisma: PrismaClient;
  logger: Pick<Logger, 'warn'>;
}): Promise<{ dropped: string[]; failed: string[] }> {
  const client = await deps.pool.connect();
  const dropped: string[] = [];
  const failed: string[] = [];
  try {
    // Only this live database's drills: advisory locks are per database, so another one's cannot be judged here.
    const { rows } = await client.query<{ name: string }>(
      `SELECT datname AS name FROM pg_database
        WHERE starts_with(datname, $1) AND shobj_description(oid, 'pg_database') = $2 || current_database()`,
      [DRILL_DATABASE_PREFIX, scratchComment('')],
    );
    for (const { name } of rows) {
      if (!(await tryDrillLock(client, name))) continue;
      try {
        await dropScratchDatabase(client, name);
        dropped.push(name);
      } finally {
        await releaseDrillLock(client, name);
      }
    }
    const running = await deps.prisma.operation.findMany({
      where: { kind: 'drill', status: 'running', startedAt: { lt: new Date(Date.now() - 1000) } },
      select: { id: true },
    });
    for (const op of running) {
      const name = drillDatabaseName(op.id);
      if (!(await tryDrillLock(client, name))) continue;
      try {
        const { count } = await deps.prisma.operation.updateMany({
          where: { id: op.id, status: 'running' },
          data: { status: 'failed', error: DRILL_INTERRUPTED, completedAt: new Date() },
        });
        if (count > 0) failed.push(op.id);
      } finally {
        await releaseDrillLock(client, name);
      }
    }
  } finally {
    client.release();
  }
  if (dropped.length + failed.length > 0)
    deps.logger.warn({ dropped, failed }, 'recovered from interrupted restore drills');
  return { dropped, failed };
}
