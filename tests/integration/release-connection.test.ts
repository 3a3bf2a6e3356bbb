import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_BEFORE_CLOSE_MS, releaseConnection } from '@mp/core';
import { createPgPool, type PgPool } from '@mp/db';
import { createTestDatabase, type TestDatabase } from '@mp/testing';

// A failed restore (a refusal, above all) gives its builder connections back when they answer a ROLLBACK in time,
// instead of closing them: new backends cost a refusal most of its time. What goes back must be clean, and what
// cannot answer must still be closed.
let db: TestDatabase;
const pools: PgPool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
  await db?.drop();
});

function onePool(): PgPool {
  const pool = createPgPool(db.url, { max: 1, onError: () => {} });
  pools.push(pool);
  return pool;
}

async function backendPid(client: { query: PgPool['query'] }): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

describe('releaseConnection after a failed run', () => {
  it('gives back a connection left in an aborted transaction, rolled back: the same backend serves next', async () => {
    const pool = onePool();
    const client = await pool.connect();
    const pid = await backendPid(client);
    await client.query('BEGIN');
    await client.query('CREATE TABLE left_behind (id int)');
    const failed = await client.query('SELECT 1 / 0').catch((err: Error) => err);
    expect(failed).toBeInstanceOf(Error);

    await releaseConnection(client, failed as Error);

    expect([pool.totalCount, pool.idleCount]).toEqual([1, 1]);
    const next = await pool.connect();
    try {
      expect(await backendPid(next)).toBe(pid);
      // Outside any transaction, and what the failed one did is gone.
      const { rows } = await next.query<{ t: string | null }>(`SELECT to_regclass('left_behind')::text AS t`);
      expect(rows[0]!.t).toBeNull();
    } finally {
      next.release();
    }
  });

  it('closes a connection that does not answer in time (a statement still running)', async () => {
    const pool = onePool();
    const client = await pool.connect();
    const running = client.query('SELECT pg_sleep(5)').then(
      () => 'finished',
      () => 'ended with the connection',
    );
    const started = Date.now();

    await releaseConnection(client, new Error('the run failed'));

    expect(Date.now() - started).toBeGreaterThanOrEqual(ANSWER_BEFORE_CLOSE_MS - 50);
    expect(pool.totalCount).toBe(0);
    expect(await running).toBe('ended with the connection');
  });

  it('closes a connection whose clean-up fails, even after a run that succeeded', async () => {
    const pool = onePool();
    const client = await pool.connect();
    await releaseConnection(client, undefined, async (c) => c.query('RESET no_such_setting_anywhere'));
    expect(pool.totalCount).toBe(0);
  });
});
