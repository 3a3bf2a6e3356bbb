import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMaintenance, withExclusiveMaintenance } from '@mp/core';
import { createTestDatabase, type TestDatabase } from '@mp/testing';

// A restore or reset that fails closes its connection (it may be mid-transaction or mid-COPY), and PostgreSQL frees
// a closed connection's session lock only once its backend has exited. The hostile corpus saw the next restore
// refused "Another restore or reset is running" by the run just before it. The failed run now gives the lock back
// on its connection before closing it; the 3 s grace wait stays as the second line of defence, so it is off here
// (`lockGraceMs: 0`), or this test could not fail.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe('the live-tables lock after a failed run', () => {
  it('admits the next run at once, on another connection, though the failed run closed its connection', async () => {
    const failed = withExclusiveMaintenance(
      db,
      { jobId: 'failing-run', operationId: randomUUID(), reason: 'restore', lockGraceMs: 0 },
      async (client) => {
        // A backend that is slow to exit: it drops its temporary tables first, and frees its session locks after.
        const tempTable = `EXECUTE format('CREATE TEMP TABLE scratch_%s (a int)', i)`;
        await client.query(`DO $$ BEGIN FOR i IN 1..1000 LOOP ${tempTable}; END LOOP; END $$`);
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
  });
});
