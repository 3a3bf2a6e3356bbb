import type pg from 'pg';
import { discardSession, unlockForSession } from '../sql/dialect.js';
import { LIVE_TABLES_LOCK } from './advisory-locks.js';
import { releaseConnection } from './release-connection.js';

/**
 * Gives the {@link LIVE_TABLES_LOCK} back on `client`, then returns `client` to its pool (see
 * {@link releaseConnection}). After a run that `failed`, the connection may be mid-transaction, mid-COPY or with
 * anything in its session: a `ROLLBACK` comes first and a `DISCARD ALL` last, and it goes back only when it answers
 * all of it within `ANSWER_BEFORE_CLOSE_MS`. A run's statements never outlive its failure (a restore's stage stops
 * sending once its read fails: `StagingTables.abandon`), so nothing of it reaches the connection's next user.
 * The lock is given back before the (possibly slow) discard: a closed connection's session lock is freed only once
 * its backend has exited, a moment later (later still when it drops temporary tables first), and in that moment
 * the next restore or reset would be refused by a run already over. A connection that cannot answer in time is
 * closed holding the lock; the next run's grace wait covers that. Never throws.
 */
export async function releaseLiveTablesLock(client: pg.PoolClient, failed?: Error): Promise<void> {
  await releaseConnection(client, failed, async (c) => {
    await unlockForSession(c, LIVE_TABLES_LOCK);
    if (failed) await discardSession(c);
  });
}
