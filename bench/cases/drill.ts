import os from 'node:os';
import { callApi, login, startWorker, stopService, waitFinal } from '../lib/harness.js';
import type { Row } from '../lib/report.js';
import { exportThroughWorker, type CaseContext } from './context.js';

interface DrillResult {
  rtoSeconds: number;
  checkedSeconds: number;
  restoreSeconds: number;
  rowsPerSecond: number;
  rows: number;
  ok: boolean;
  invariants: { rule: string; count: number }[];
}

/**
 * Restore drill of the run's backup through the API and a fresh worker: scratch database, schema, restore,
 * count and hash comparison, invariants, drop. Reports the drill's own RTO (not judged: there is no target):
 * with `--runs N` the wall column is the median and the notes list every run's RTO.
 */
export async function drillCase(ctx: CaseContext): Promise<Row[]> {
  if (!ctx.state.backupId)
    ctx.state.backupId = (
      await exportThroughWorker(ctx, { url: ctx.work.url, api: ctx.api }, `drill-prep-r${ctx.run}`)
    ).backupId;
  const worker = await startWorker(ctx.h, ctx.work.url, `drill-r${ctx.run}`);
  try {
    const token = await login(ctx.h, ctx.api);
    const load = os.loadavg()[0]!.toFixed(1);
    const t0 = performance.now();
    const accepted = await callApi<{ jobId: string }>(ctx.api, 'POST', `/api/backup/${ctx.state.backupId}/drill`, {
      token,
      expect: 202,
    });
    const { row, seenAt } = await waitFinal(ctx.work.url, 'operations', accepted.jobId);
    if (row.status !== 'completed') throw new Error(`the drill ${row.status}: ${String(row.error)}`);
    const r = row.result as DrillResult;
    const peak = worker.memory();
    return [
      {
        id: 'drill',
        label: 'restore drill: RTO (scratch database)',
        wallS: r.rtoSeconds,
        rows: r.rows,
        peakRss: peak?.hwm ?? 0,
        notes: [
          // Every run's own RTO, so that `--runs N` lists each one beside the median in the wall column.
          `RTO ${r.rtoSeconds.toFixed(1)} s (load average ${load} at the start); restore alone ` +
            `${r.restoreSeconds.toFixed(1)} s (${r.rowsPerSecond.toLocaleString('en-US')} rows/s); compared with ` +
            `the file at ${r.checkedSeconds.toFixed(1)} s; enqueue → completed ` +
            `${((seenAt - t0) / 1000).toFixed(1)} s incl. invariants and the drop`,
          `tables match the file: ${r.ok}; invariants broken: ${
            r.invariants.map((i) => `${i.rule} ×${i.count}`).join(', ') || 'none'
          }`,
        ],
      },
    ];
  } finally {
    await stopService(ctx.h, worker);
  }
}
