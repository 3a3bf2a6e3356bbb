import type pg from 'pg';
import { unlockForSession } from '../sql/dialect.js';
import { LIVE_TABLES_LOCK } from './advisory-locks.js';
import { releaseConnection } from './release-connection.js';

/**
 * Gives the {@link LIVE_TABLES_LOCK} back on `client`, then returns `client` to its pool (see
 * {@link releaseConnection}: after a run that `failed`, a `ROLLBACK` first, and only a connection that answers in
 * time goes back). PostgreSQL frees the session lock of a closed connection only once its backend has exited, a
 * moment later (later still when it drops temporary tables first): in that moment the next restore or reset would
 * be refused by a run already over. So even a failed run unlocks on the connection first; a connection that cannot
 * answer in time is closed holding the lock, and the next run's grace wait covers that. Never throws: a connection
 * that cannot unlock is closed, and the lock dies with it.
 */
export async function releaseLiveTablesLock(client: pg.PoolClient, failed?: Error): Promise<void> {
  await releaseConnection(client, failed, (c) => unlockForSession(c, LIVE_TABLES_LOCK));
}
