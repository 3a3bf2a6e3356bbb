import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '@mp/db';
import { backupListConditions, type ListBackupsInput } from '@mp/core';
import { createUserAndLogin, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';
import { keysetQuery } from '../../packages/core/src/pagination/keyset.js';

// Issue 16 item 2: the list pages through many records by cursor, for every filter, without repeats or gaps, and
// each page's query is served by an index (the bench row `api: GET /list` measures its latency at 10,000 records).
const RECORDS = 500;

type Filters = Omit<ListBackupsInput, 'limit' | 'cursor'>;
const FILTERS: [string, Filters][] = [
  ['', {}],
  ['status=failed', { status: 'failed' }],
  ['type=pre-restore', { type: 'pre-restore' }],
  ['pinned=true', { pinned: true }],
  ['label=env', { label: 'env' }],
  ['label=reason:pre-migration', { label: 'reason:pre-migration' }],
  ['status=completed&type=manual&pinned=false', { status: 'completed', type: 'manual', pinned: false }],
];

describe('backup list over many records', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let headers: Record<string, string>;

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
    await resetDatabase(ctx.db.pool);
    ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
    // A mix of types, statuses, labels, pins and verifications; groups of five share one createdAt to the
    // microsecond, so only the id breaks the tie at a page boundary.
    await ctx.db.pool.query(
      `INSERT INTO backup_records (id, filename, type, status, location, labels, pinned, verification,
                                  "createdAt", "updatedAt")
       SELECT gen_random_uuid()::text, 'b' || g || '.json.gz',
              (CASE WHEN g % 10 < 7 THEN 'scheduled' WHEN g % 10 < 9 THEN 'manual'
                    ELSE 'pre-restore' END)::"BackupType",
              (CASE WHEN g % 13 = 0 THEN 'failed' WHEN g % 50 = 1 THEN 'running' ELSE 'completed' END)::"BackupStatus",
              'local',
              CASE WHEN g % 4 = 0 THEN '{"reason":"pre-migration"}'::jsonb
                   WHEN g % 7 = 0 THEN jsonb_build_object('env', 'prod', 'ticket', 'T-' || g) ELSE '{}' END,
              g % 17 = 0,
              CASE WHEN g % 13 = 0 THEN NULL ELSE jsonb_build_object('ok', g % 30 <> 0) END,
              timestamptz '2026-06-01T00:00:00Z' - make_interval(secs => (g / 5) * 0.000731), now()
         FROM generate_series(1, $1::int) g`,
      [RECORDS],
    );
    await ctx.db.pool.query('ANALYZE backup_records');
  });
  afterAll(() => stopApiApp(ctx, app));

  /** The ids the filter matches, newest first, straight from SQL: what paging must return, in order. */
  async function expected(filters: Filters): Promise<string[]> {
    const where = backupListConditions(filters);
    const rows = await ctx.deps.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM backup_records ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, ' AND ')}` : Prisma.empty}
       ORDER BY "createdAt" DESC, id DESC`;
    return rows.map((r) => r.id);
  }

  it.each(FILTERS)('pages through every record matching "%s" by cursor, no repeats or gaps', async (query, filters) => {
    const want = await expected(filters);
    expect(want.length).toBeGreaterThan(query ? 10 : RECORDS - 1);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await app.inject({
        method: 'GET',
        url: `/api/backup/list?limit=23${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`,
        headers,
      });
      expect(res.statusCode).toBe(200);
      const { items, nextCursor } = res.json().data as { items: { id: string }[]; nextCursor: string | null };
      expect(items.length).toBe(nextCursor ? 23 : want.length - seen.length);
      seen.push(...items.map((i) => i.id));
      cursor = nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen).toEqual(want);
  });

  it('runs each page on an index: the order, the cursor and every filter', async () => {
    const plan = async (sql: Prisma.Sql) => {
      // Sequential scans and sorts priced out: what remains is what the indexes can serve. Without an index
      // for the order, PostgreSQL still sorts (a Sort or Incremental Sort node).
      return ctx.deps.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL enable_seqscan = off`;
        await tx.$executeRaw`SET LOCAL enable_sort = off`;
        await tx.$executeRaw`SET LOCAL enable_incremental_sort = off`;
        const rows = await tx.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN ${sql}`;
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    };
    const { nextCursor } = (await app.inject({ method: 'GET', url: '/api/backup/list?limit=50', headers })).json()
      .data as { nextCursor: string };
    for (const [query, filters] of FILTERS.filter(([q]) => !q.startsWith('label'))) {
      for (const cursor of [undefined, nextCursor]) {
        const text = await plan(
          keysetQuery({ table: 'backup_records', conditions: backupListConditions(filters), limit: 20, cursor }),
        );
        expect(text, `${query || 'no filter'}${cursor ? ' after a cursor' : ''}:\n${text}`).toMatch(
          /Index (Only )?Scan Backward using "?backup_records_\w*createdAt_id_idx/,
        );
        expect(text).not.toMatch(/Sort|Seq Scan/);
        if (cursor) expect(text).toMatch(/Index Cond: .*ROW\("createdAt", id\) </);
      }
    }
    // Labels: the GIN index finds the matching rows (a rare label's page is then sorted in memory).
    for (const filters of [{ label: 'ticket' }, { label: 'ticket:T-7' }]) {
      const text = await plan(Prisma.sql`SELECT id FROM backup_records WHERE ${backupListConditions(filters)[0]}`);
      expect(text, text).toMatch(/Bitmap Index Scan on backup_records_labels_idx/);
    }
  });
});
