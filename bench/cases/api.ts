import autocannon from 'autocannon';
import { withClient } from '../lib/databases.js';
import { BENCH_ADMIN } from '../lib/databases.js';
import { baseUrl, callApi, login, producerFor, startApi, startWorker, stopService, waitFinal } from '../lib/harness.js';
import { sleep } from '../lib/processes.js';
import { pacedLoad } from '../lib/paced.js';
import type { Row } from '../lib/report.js';
import type { CaseContext } from './context.js';

const P99_TARGET = { op: '<' as const, value: 50, unit: 'ms' as const, text: 'p99 < 50 ms' };

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
    // A short unmeasured warm-up (20 requests) so the measurement is the steady state, not the route's first calls.
    for (let i = 0; i < 20; i++) await callApi(ctx.api, 'GET', `/api/backup/jobs/${accepted.jobId}`, { token });
    const paced = await pacedLoad({
      url,
      headers: { authorization: `Bearer ${token}` },
      rate: 100,
      seconds: duration,
      connections: 10,
    });
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
      notes: [
        `paced (one request every 10 ms, 10 keep-alive connections): ${paced.requests} requests, p50 ${paced.p50} ` +
          `ms, max ${paced.max} ms, non-2xx ${paced.non2xx}, errors ${paced.errors}`,
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
    // The same unmeasured warm-up as the GET case (20 requests): a long-running API's steady state is
    // what the target is about, not V8 compiling the route on its first calls.
    for (let i = 0; i < 20; i++) await callApi(api, 'POST', '/api/backup/create', { token, body: {}, expect: 202 });
    const res = await autocannon({
      url: `${baseUrl(api)}/api/backup/create`,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
      connections: 4,
      amount,
    });
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

/** Target 4: API latency while the worker is busy, and of enqueueing. */
export async function apiCase(ctx: CaseContext): Promise<Row[]> {
  return [await pollUnderExport(ctx), await enqueue(ctx)];
}
