import type pg from 'pg';
import { rollbackAndUnlockForSession, unlockForSession } from '../sql/dialect.js';
import { settleWithin } from '../timeout.js';
import { LIVE_TABLES_LOCK } from './advisory-locks.js';

/** How long a failed run's connection gets to give the lock back before it is closed holding it. */
const UNLOCK_BEFORE_CLOSE_MS = 2_000;

/**
 * Gives the {@link LIVE_TABLES_LOCK} back on `client`, then returns `client` to its pool, or closes it when the
 * run `failed` (it may have been left mid-transaction or mid-statement). PostgreSQL frees the session lock of a
 * closed connection only once its backend has exited, a moment later (later still when it drops temporary tables
 * first): in that moment the next restore or reset would be refused by a run already over. So a failed run rolls
 * back and unlocks on the connection first, within {@link UNLOCK_BEFORE_CLOSE_MS} (a destroyed COPY stream has
 * sent CopyFail, so the connection answers again); a connection that cannot answer in time is closed holding the
 * lock, and the next run's grace wait covers that. Never throws: a connection that cannot unlock is closed, and
 * the lock dies with it.
 */
export async function releaseLiveTablesLock(client: pg.PoolClient, failed?: Error): Promise<void> {
  if (!failed) {
    try {
      await unlockForSession(client, LIVE_TABLES_LOCK);
      client.release();
    } catch (err) {
      client.release(err as Error);
    }
    return;
  }
  await settleWithin(rollbackAndUnlockForSession(client, LIVE_TABLES_LOCK), UNLOCK_BEFORE_CLOSE_MS, () => {}).catch(
    () => {},
  );
  client.release(failed);
}
