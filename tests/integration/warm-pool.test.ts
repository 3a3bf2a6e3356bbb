import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, warmPool, type PgPool } from '@mp/db';
import { createTestDatabase, type TestDatabase } from '@mp/testing';

// The API opens its database connections at start (warmPool) and keeps them. A warm-up that meets a PostgreSQL
// refusing some connections must give back the ones it opened, or they stay checked out for good and the pool
// serves with fewer.
let db: TestDatabase;
const role = `mp_warm_${randomUUID().slice(0, 8)}`;
const pools: PgPool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // A role that may hold two connections at once (superusers are not subject to connection limits).
  await db.pool.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 2`);
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
  await db?.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  await db?.drop();
});

function poolFor(url: string, max: number): PgPool {
  const pool = createPgPool(url, { max, min: max, onError: () => {} });
  pools.push(pool);
  return pool;
}

describe('warmPool', () => {
  it('opens the connections asked for (at most max), each idle and ready afterwards', async () => {
    const pool = poolFor(db.url, 4);
    await warmPool(pool, 10);
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([4, 4, 0]);
  });

  it('gives back every connection it opened when PostgreSQL refuses others, and says why', async () => {
    const url = new URL(db.url);
    url.username = role;
    url.password = '';
    // PostgreSQL counts a role's backends while they start, refused ones included, so 5 at once may leave 2, 1
    // or (rarely) none of them open. A fresh pool until one warm-up opened some: that is the give-back to check.
    let pool = poolFor(url.toString(), 5);
    for (let attempt = 1; ; attempt++) {
      await expect(warmPool(pool, 5)).rejects.toThrow(/too many connections for role/);
      if (pool.totalCount > 0 || attempt === 5) break;
      pool = poolFor(url.toString(), 5);
    }
    // The ones that opened are idle in the pool, none left checked out: the pool still serves.
    expect(pool.totalCount).toBeGreaterThan(0);
    expect(pool.totalCount).toBeLessThanOrEqual(2);
    expect([pool.idleCount, pool.waitingCount]).toEqual([pool.totalCount, 0]);
    const { rows } = await pool.query<{ who: string }>('SELECT current_user AS who');
    expect(rows[0]!.who).toBe(role);
  });

  it('survives PostgreSQL ending a checked-out connection between two queries, and drops it', async () => {
    const errors: string[] = [];
    const pool = createPgPool(db.url, { max: 2, onError: (err) => errors.push(err.message) });
    pools.push(pool);
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    // Without a listener on the checked-out client, the termination notice would be an uncaught 'error' event.
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(errors.join(' ')).toMatch(/terminat/i);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release();
    expect(pool.totalCount).toBe(0);
    const next = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(next.rows[0]!.one).toBe(1);
  });
});
