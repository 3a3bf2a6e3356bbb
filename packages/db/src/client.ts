import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type { PrismaClient } from './generated/prisma/client.js';

/**
 * Prisma client over node-pg (no query-engine binary). One per process; `$disconnect()` on shutdown.
 * Sessions run in UTC so timestamps read back as written.
 */
export function createPrismaClient(databaseUrl: string, opts: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.max ?? 10, options: '-c TimeZone=UTC' });
  return new PrismaClient({ adapter });
}

/**
 * A plain pg pool for bulk work (COPY streams, snapshots, DDL) that Prisma does not do.
 * Every connection uses UTC and ISO dates so JSON built by PostgreSQL is stable.
 */
export function createPgPool(
  databaseUrl: string,
  opts: { max?: number; applicationName?: string; onError?: (err: Error) => void } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 6,
    application_name: opts.applicationName ?? 'mp-backup',
    options: '-c TimeZone=UTC -c DateStyle=ISO',
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener it would
  // crash the process. The pool replaces the client on the next checkout, so reporting is enough.
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;
