import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMaintenance, withExclusiveMaintenance } from '@mp/core';
import { createTestDatabase, type TestDatabase } from '@mp/testing';

// A restore or reset that fails may leave its connection mid-transaction or with anything in its session. It gives
// the lock back first, then discards the session (temporary tables and all) and returns the connection to the
// pool; a connection that cannot answer in time is closed, and PostgreSQL frees a closed connection's session lock
// only once its backend has exited. The hostile corpus once saw the next restore refused "Another restore or reset
// is running" by the run just before it. The 3 s grace wait stays as the second line of defence, so it is off here
// (`lockGraceMs: 0`), or this test could not fail.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe('the live-tables lock after a failed run', () => {
  it('admits the next run at once, and the failed run gives its connection back clean', async () => {
    let pid = 0;
    const failed = withExclusiveMaintenance(
      db,
      { jobId: 'failing-run', operationId: randomUUID(), reason: 'restore', lockGraceMs: 0 },
      async (client) => {
        pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        // A session with much to drop: its backend, closed, would free its session locks only after.
        const tempTable = `EXECUTE format('CREATE TEMP TABLE scratch_%s (a int)', i)`;
        await client.query(`DO $$ BEGIN FOR i IN 1..1000 LOOP ${tempTable}; END LOOP; END $$`);
        await client.query('SET statement_timeout = 1234');
        // Left inside an aborted transaction, which refuses every statement but ROLLBACK.
        await client.query('BEGIN');
        await client.query('SELECT 1 / 0');
      },
    );
    await expect(failed).rejects.toThrow(/division by zero/);

    const next = await withExclusiveMaintenance(
      db,
      { jobId: 'next-run', operationId: randomUUID(), reason: 'restore', lockGraceMs: 0 },
      async () => (await getMaintenance(db.prisma)).jobId,
    );
    expect(next).toBe('next-run');
    expect((await getMaintenance(db.prisma)).active).toBe(false);

    // Back in the pool, its session as new: no temporary table, no setting, no lock left.
    const clients = await Promise.all(Array.from({ length: db.pool.totalCount }, () => db.pool.connect()));
    try {
      const sessions = await Promise.all(
        clients.map(async (c) => {
          const { rows } = await c.query<{ pid: number; temp: string; timeout: string; locks: string }>(
            `SELECT pg_backend_pid() AS pid, current_setting('statement_timeout') AS timeout,
                    (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temp,
                    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks`,
          );
          return rows[0]!;
        }),
      );
      const reused = sessions.find((s) => s.pid === pid);
      expect(reused).toEqual({ pid, temp: '0', timeout: '0', locks: '0' });
    } finally {
      for (const c of clients) c.release();
    }
  });
});
