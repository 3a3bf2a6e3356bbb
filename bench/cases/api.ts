import autocannon from 'autocannon';
import { withClient } from '../lib/databases.js';
import { BENCH_ADMIN } from '../lib/databases.js';
import { baseUrl, callApi, login, producerFor, startApi, startWorker, stopService, waitFinal } from '../lib/harness.js';
import { sleep } from '../lib/processes.js';
import { pacedLoad, serverTimes, type PacedResult, type ServerTimes } from '../lib/paced.js';
import type { Row } from '../lib/report.js';
import { probeWindow } from '../lib/window-probe.js';
import type { CaseContext } from './context.js';

const P99_TARGET = { op: '<' as const, value: 50, unit: 'ms' as const, text: 'p99 < 50 ms' };

/**
 * The paced GET rows first run the same load, unmeasured, for this long: the target is the steady state of an API
 * in service, and a freshly started API (and this load generator) spend their first seconds under load compiling
 * the hot paths. With a 20-request warm-up, the first run of each invocation measured that (docs/benchmarks.md).
 */
function warmUpSeconds(ctx: CaseContext): number {
  return ctx.opts.smoke ? 0.5 : 3;
}

/**
 * Target 4a: GET /api/backup/jobs/:id at 100 requests/s while a full export runs on a fresh worker.
 * The load starts once the record is `running`. Judged on an evenly paced open-loop load (see
 * `pacedLoad`); autocannon's `overallRate` (bursts of 100 at the top of each second, 10 at a time) runs
 * next, for 5 s, and is reported alongside.
 */
async function pollUnderExport(ctx: CaseContext): Promise<Row> {
  const worker = await startWorker(ctx.h, ctx.work.url, `api-export-r${ctx.run}`);
  try {
    const token = await login(ctx.h, ctx.api);
    const accepted = await callApi<{ backupId: string; jobId: string }>(ctx.api, 'POST', '/api/backup/create', {
      token,
      body: { includeAuditLogs: true, includeSessions: true, location: 'local' },
      expect: 202,
    });
    const status = () =>
      withClient(ctx.work.url, (c) =>
        c.query<{ status: string }>('SELECT status FROM backup_records WHERE id = $1', [accepted.backupId]),
      ).then((r) => r.rows[0]?.status);
    for (let i = 0; i < 2000 && (await status()) === 'queued'; i++) await sleep(10);
    const duration = ctx.opts.smoke ? 2 : 10;
    const url = `${baseUrl(ctx.api)}/api/backup/jobs/${accepted.jobId}`;
    const load = { url, headers: { authorization: `Bearer ${token}` }, rate: 100, connections: 10 };
    await pacedLoad({ ...load, seconds: warmUpSeconds(ctx) });
    const probe = { apiUrl: baseUrl(ctx.api), dbUrl: ctx.work.url };
    const { result: paced, note: meanwhile } = await probeWindow(probe, () =>
      pacedLoad({ ...load, seconds: duration }),
    );
    const server = await serverTimes(ctx.api.logFile, paced.window, '/api/backup/jobs/');
    const bursts = await autocannon({
      url,
      headers: { authorization: `Bearer ${token}` },
      connections: 10,
      overallRate: 100,
      duration: ctx.opts.smoke ? 1 : 5,
    });
    const after = await status();
    await waitFinal(ctx.work.url, 'backup_records', accepted.backupId);
    return {
      id: 'api-poll',
      label: 'api: GET /jobs/:id @100 req/s during export',
      wallS: duration,
      measure: { value: paced.p99, unit: 'ms' },
      target: P99_TARGET,
      judgeEachRun: true,
      notes: [
        `paced (one request every 10 ms, 10 keep-alive connections): ${paced.requests} requests, p50 ${paced.p50} ` +
          `ms, max ${paced.max} ms, non-2xx ${paced.non2xx}, errors ${paced.errors}`,
        whereTheTimeWent(paced, server),
        meanwhile,
        `autocannon overallRate 100 (bursts, not judged): ${bursts.requests.total} requests, p50 ` +
          `${bursts.latency.p50} ms, p99 ${bursts.latency.p99} ms, max ${bursts.latency.max} ms; export still ` +
          `running at the end: ${after === 'running' ? 'yes' : `no (${after})`}`,
      ],
    };
  } finally {
    await stopService(ctx.h, worker);
  }
}

/**
 * Target 4b: POST /api/backup/create answers p99 < 50 ms. A second API enqueues on a queue prefix no
 * worker consumes, so nothing runs; its queued records and queue are removed afterwards.
 */
async function enqueue(ctx: CaseContext): Promise<Row> {
  const prefix = `${ctx.h.prefix}idle`;
  const api = await startApi(ctx.h, ctx.work.url, `enqueue-r${ctx.run}`, prefix);
  const since = new Date();
  try {
    const token = await login(ctx.h, api);
    const amount = ctx.opts.smoke ? 40 : 200;
    const load = {
      url: `${baseUrl(api)}/api/backup/create`,
      method: 'POST' as const,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
      connections: 4,
      amount,
    };
    // The same load first, unmeasured, as for the GET rows: a long-running API's steady state is what the target
    // is about. With 20 requests one at a time, the measured load was the first to use more than one of the API's
    // connections at once, and its first 30 requests held every slow answer (2026-12-02: up to 133 ms in the
    // API's own log, the rest of the 200 under 30 ms).
    await autocannon(load);
    const res = await autocannon(load);
    if (res['2xx'] !== amount)
      throw new Error(
        `POST /api/backup/create: only ${res['2xx']} of ${amount} answered 2xx (non-2xx ${res.non2xx}, errors ` +
          `${res.errors})`,
      );
    return {
      id: 'api-enqueue',
      label: 'api: POST /create (enqueue), 4 concurrent',
      wallS: res.duration,
      measure: { value: res.latency.p99, unit: 'ms' },
      target: P99_TARGET,
      notes: [
        `${amount} requests, p50 ${res.latency.p50} ms, max ${res.latency.max} ms, ` +
          `${(amount / res.duration).toFixed(0)} req/s`,
      ],
    };
  } finally {
    await stopService(ctx.h, api);
    await producerFor(ctx.h, prefix).queue('backup').obliterate({ force: true });
    await withClient(ctx.work.url, (c) =>
      c.query(`DELETE FROM backup_records WHERE status = 'queued' AND "createdBy" = $1 AND "createdAt" >= $2`, [
        BENCH_ADMIN,
        since,
      ]),
    );
  }
}

const LIST_RECORDS = 10_000;
const LIST_CREATED_BY = 'bench_list';

/**
 * 10,000 backup records in the work database, inserted directly: 70 % scheduled, 20 % manual, 10 % pre-restore;
 * 2 % failed, 0.5 % running, the rest completed; a quarter labelled `reason: pre-migration`, one in seven
 * `env: prod` with a ticket; one in 97 pinned; a verification report on every finished one. One a minute,
 * going back about a week, every twentieth sharing its createdAt with the one before (the cursor's tie-break on id).
 * Each verification is `report`, the read-back report of a real export, with its verdict varied: until 2026-12-02
 * it was `{ ok, checks }`, a shape the product no longer writes, which the list reads the slow way (a fallback
 * for each missing field).
 */
async function insertListRecords(url: string, runTag: string, report: object): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(
      `INSERT INTO backup_records (id, filename, type, status, location, storage, "fileSize", checksum, compressed,
                                   labels, pinned, "pinNote", verification, "verifiedAt", "createdBy", "createdAt",
                                   "completedAt", "updatedAt")
       SELECT gen_random_uuid()::text, 'backup_' || $2 || '_' || g || '.json.gz',
              (CASE WHEN g % 10 < 7 THEN 'scheduled' WHEN g % 10 < 9 THEN 'manual'
                    ELSE 'pre-restore' END)::"BackupType",
              (CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 200 = 1 THEN 'running' ELSE 'completed' END)::"BackupStatus",
              (CASE WHEN g % 3 = 0 THEN 'both' ELSE 'local' END)::"BackupLocation",
              jsonb_build_object('local', jsonb_build_object('key', 'backup_' || g || '.json.gz')),
              40000000 + g * 13, md5(g::text), true,
              CASE WHEN g % 4 = 0 THEN '{"reason":"pre-migration"}'::jsonb
                   WHEN g % 7 = 0 THEN jsonb_build_object('env', 'prod', 'ticket', 'T-' || g) ELSE '{}' END,
              g % 97 = 0, CASE WHEN g % 97 = 0 THEN 'year-end' END,
              CASE WHEN g % 50 = 0 OR g % 200 = 1 THEN NULL
                   ELSE jsonb_set($4::jsonb, '{ok}', to_jsonb(g % 300 <> 0)) END,
              CASE WHEN g % 50 = 0 OR g % 200 = 1 THEN NULL ELSE now() END,
              $3, now() - make_interval(mins => g - (g % 20 = 0)::int),
              CASE WHEN g % 50 = 0 OR g % 200 = 1 THEN NULL ELSE now() END, now()
         FROM generate_series(1, $1::int) g`,
      [LIST_RECORDS, runTag, LIST_CREATED_BY, JSON.stringify(report)],
    );
    await c.query('ANALYZE backup_records');
  });
}

/**
 * Issue 16 item 2: GET /api/backup/list with 10,000 backup records, p99 < 50 ms at an even 100 req/s, judged on
 * every run. The URLs are collected first by paging through with the cursor (50 a page: every page of the whole
 * list, and the first pages of each filter), then requested in turn by the paced load. No export runs meanwhile.
 */
async function listManyRecords(ctx: CaseContext): Promise<Row> {
  const report = await withClient(ctx.work.url, (c) =>
    c.query<{ verification: object }>(
      `SELECT verification FROM backup_records WHERE verification IS NOT NULL ORDER BY "verifiedAt" DESC LIMIT 1`,
    ),
  ).then((r) => r.rows[0]?.verification);
  if (!report) throw new Error('GET /list: no verified backup to take a read-back report from (the export runs first)');
  await insertListRecords(ctx.work.url, `r${ctx.run}`, report);
  try {
    const token = await login(ctx.h, ctx.api);
    const paths: string[] = [];
    const walk = async (query: string, maxPages: number) => {
      let cursor: string | null = null;
      for (let page = 0; page < maxPages; page++) {
        const path: string = `/api/backup/list?limit=50${query}${cursor ? `&cursor=${cursor}` : ''}`;
        paths.push(path);
        ({ nextCursor: cursor } = await callApi<{ nextCursor: string | null }>(ctx.api, 'GET', path, { token }));
        if (!cursor) break;
      }
    };
    const t0 = performance.now();
    await walk('', Number.POSITIVE_INFINITY);
    const walkS = (performance.now() - t0) / 1000;
    const wholePages = paths.length;
    for (const q of ['&status=failed', '&type=manual', '&pinned=true', '&label=reason:pre-migration', '&label=env'])
      await walk(q, 5);
    const duration = ctx.opts.smoke ? 2 : 10;
    const load = {
      url: (i: number) => `${baseUrl(ctx.api)}${paths[i % paths.length]}`,
      headers: { authorization: `Bearer ${token}` },
      rate: 100,
      connections: 10,
    };
    await pacedLoad({ ...load, seconds: warmUpSeconds(ctx) });
    const probe = { apiUrl: baseUrl(ctx.api), dbUrl: ctx.work.url };
    const { result: paced, note: meanwhile } = await probeWindow(probe, () =>
      pacedLoad({ ...load, seconds: duration }),
    );
    const server = await serverTimes(ctx.api.logFile, paced.window, '/api/backup/list');
    return {
      id: 'api-list',
      label: `api: GET /list (${LIST_RECORDS.toLocaleString('en')} records) @100 req/s`,
      wallS: duration,
      measure: { value: paced.p99, unit: 'ms' },
      target: P99_TARGET,
      judgeEachRun: true,
      notes: [
        `paced over ${paths.length} page URLs (${wholePages} pages of 50 walking the whole list by cursor ` +
          `in ${walkS.toFixed(1)} s, then up to 5 pages each of status, type, pinned and two label filters): ` +
          `${paced.requests} requests, p50 ${paced.p50} ms, max ${paced.max} ms, non-2xx ${paced.non2xx}, ` +
          `errors ${paced.errors}`,
        whereTheTimeWent(paced, server),
        meanwhile,
      ],
    };
  } finally {
    await withClient(ctx.work.url, (c) =>
      c.query('DELETE FROM backup_records WHERE "createdBy" = $1', [LIST_CREATED_BY]),
    );
  }
}

/**
 * Where a paced row's tail was spent: the API's own `responseTime` of the same requests (from its log), the load
 * generator's lag in sending, and its event loop's longest delay. A client p99 well above the server's means the
 * time passed before the API read the request (its process waiting for a core, or the client's own stall).
 */
function whereTheTimeWent(paced: PacedResult, server: ServerTimes): string {
  return (
    `server's own time (API log, ${server.requests} requests): p50 ${server.p50} ms, p99 ${server.p99} ms, max ` +
    `${server.max} ms; client: sent up to ${paced.sendLagMax} ms late, event loop delay max ` +
    `${paced.clientLoopDelayMax} ms`
  );
}

/** Target 4: API latency while the worker is busy, of the list at 10,000 records, and of enqueueing. */
export async function apiCase(ctx: CaseContext): Promise<Row[]> {
  return [await pollUnderExport(ctx), await listManyRecords(ctx), await enqueue(ctx)];
}
