import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type { PrismaClient } from './generated/prisma/client.js';

/**
 * Prisma client over node-pg (no query-engine binary). One per process; `$disconnect()` on shutdown.
 * Sessions run in UTC so timestamps read back as written. Given a pool ({@link createPgPool}) instead of a URL,
 * Prisma runs on that pool's connections (the caller ends the pool), so a process can keep one warm pool.
 */
export function createPrismaClient(database: string | pg.Pool, opts: { max?: number } = {}): PrismaClient {
  const adapter =
    typeof database === 'string'
      ? new PrismaPg({ connectionString: database, max: opts.max ?? 10, options: '-c TimeZone=UTC' })
      : new PrismaPg(database);
  return new PrismaClient({ adapter });
}

/**
 * A plain pg pool for bulk work (COPY streams, snapshots, DDL) that Prisma does not do.
 * Every connection uses UTC and ISO dates so JSON built by PostgreSQL is stable.
 * `min` connections are never closed for being idle (node-pg closes the others after 10 s); {@link warmPool}
 * opens them.
 */
export function createPgPool(
  databaseUrl: string,
  opts: { max?: number; min?: number; applicationName?: string; onError?: (err: Error) => void } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 6,
    min: opts.min ?? 0,
    application_name: opts.applicationName ?? 'mp-backup',
    options: '-c TimeZone=UTC -c DateStyle=ISO',
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener it would
  // crash the process. The pool replaces the client on the next checkout, so reporting is enough.
  pool.on('error', (err) => opts.onError?.(err));
  // pg-pool listens for a client's errors only while it is idle. A checked-out client that PostgreSQL ends between
  // two queries (a restart, a terminated backend) would emit 'error' with no listener and crash the process. It is
  // unusable afterwards: its next query fails, and the pool drops it when it is released.
  pool.on('connect', (client) => client.on('error', (err) => opts.onError?.(err)));
  return pool;
}

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

/**
 * Opens `count` connections of `pool` at once (side by side), so that a burst of requests finds them ready
 * instead of waiting for PostgreSQL to start a backend and authenticate each. Every connection that opened is
 * given back to the pool, also when others failed (then the first failure is thrown): none is left checked out.
 */
export async function warmPool(pool: pg.Pool, count: number): Promise<void> {
  // More than `max` would wait for a connection forever.
  const n = Math.min(count, pool.options.max);
  const opened = await Promise.allSettled(Array.from({ length: n }, () => pool.connect()));
  for (const result of opened) if (result.status === 'fulfilled') result.value.release();
  const failed = opened.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}
