import type pg from 'pg';
import { settleWithin } from '../timeout.js';

/** How long a connection gets to answer its clean-up before it is closed instead of given back. */
export const ANSWER_BEFORE_CLOSE_MS = 2_000;

/**
 * Gives `client` back to its pool once `cleanUp` (a `RESET`, an unlock) has run on it, or closes it. After a run that
 * `failed`, a `ROLLBACK` comes first. A connection that answers all of it within {@link ANSWER_BEFORE_CLOSE_MS} is
 * idle, outside any transaction, with its session as the pool gave it: it goes back. One that cannot answer in
 * time, or fails to, is closed. (Outside a transaction PostgreSQL answers the `ROLLBACK` with a warning notice;
 * nothing fails.)
 *
 * Only for a connection nothing of the run can still use: a statement the run sent after the clean-up would run on
 * whoever took the connection next, in their session. A restore's builders qualify once their pool has ended, its
 * staging connections once the stage has failed (it sends nothing more: `StagingTables.abandon`).
 *
 * Closing the connections of every failed run cost a refused restore four new backends each time (a fork, the
 * password handshake and cold catalog caches), most of a refusal's time.
 * Never throws.
 */
export async function releaseConnection(
  client: pg.PoolClient,
  failed: Error | undefined,
  cleanUp: (client: pg.PoolClient) => Promise<unknown> = async () => {},
): Promise<void> {
  const clean = async (): Promise<true> => {
    if (failed) await client.query('ROLLBACK');
    await cleanUp(client);
    return true;
  };
  const answered = await settleWithin(clean(), ANSWER_BEFORE_CLOSE_MS, () => false).catch(() => false);
  client.release(answered ? undefined : (failed ?? new Error('the connection did not answer its clean-up')));
}
