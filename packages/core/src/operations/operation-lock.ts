import type { PgClient, PgPool, Prisma, PrismaClient } from '@mp/db';
import { ADMISSION_LOCK } from './advisory-locks.js';
import { beginHoldingLock, lockForPrismaTransaction } from '../sql/dialect.js';

type Tx = Prisma.TransactionClient;

/**
 * Runs `fn` in a transaction holding the {@link ADMISSION_LOCK}, so two replicas cannot both
 * see "nothing running" and both insert. The lock is released at commit/rollback.
 */
export async function withOperationLock<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return prisma.$transaction(async (tx) => {
    await lockForPrismaTransaction(tx, ADMISSION_LOCK);
    return fn(tx);
  });
}

/**
 * {@link withOperationLock} with the lock SHARED, on a node-pg client: for admissions that must not overlap a
 * restore, reset or undo being admitted (those take the lock exclusively) but may overlap each other, as a
 * backup's create does (before, concurrent creates queued for each other's COMMIT). It is the API's hot write
 * path, so BEGIN and the lock go in one round trip, then `fn`, then COMMIT (ROLLBACK when `fn` throws): Prisma's
 * interactive transaction cost about 1 ms of CPU more.
 * Trap: the lock is taken by its own statement, before `fn` runs, so `fn`'s statements see everything
 * committed by whoever held the lock before (a check folded into the locking statement would not).
 */
export async function withSharedOperationLockOn<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await beginHoldingLock(client, ADMISSION_LOCK, 'shared');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A connection that cannot even roll back is dropped rather than returned to the pool mid-transaction.
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    client.release(broken);
  }
}
