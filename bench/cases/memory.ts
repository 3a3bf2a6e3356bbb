import { startApi, stopService } from '../lib/harness.js';
import type { Row } from '../lib/report.js';
import { exportThroughWorker, type CaseContext, type ExportRun } from './context.js';

const MB = 1024 * 1024;

/**
 * Target 3: the worker's peak RSS (VmHWM of a fresh worker process per measurement) stays ≤ 200 MB for export
 * and restore, and grows less than 20 % from scale/4 to scale. The full-scale export and restore peaks come
 * from this run's export and restore cases when they ran (each used its own fresh worker); otherwise the
 * export is run here.
 */
export async function memoryCase(ctx: CaseContext): Promise<Row[]> {
  if (!ctx.quarter) throw new Error('the memory case needs the scale/4 database');
  let fullPeak = ctx.state.exportPeak;
  if (fullPeak === undefined)
    fullPeak = (
      await exportThroughWorker(
        ctx,
        { url: ctx.work.url, api: ctx.api },
        `memory-full-r${ctx.run}`,
        ctx.opts.compression,
      )
    ).peakRss;

  const q = ctx.quarter.db;
  const api = await startApi(ctx.h, q.url, `quarter-r${ctx.run}`);
  let quarter: ExportRun;
  try {
    quarter = await exportThroughWorker(ctx, { url: q.url, api }, `memory-quarter-r${ctx.run}`, ctx.opts.compression);
  } finally {
    await stopService(ctx.h, api);
  }
  const limit = { op: '≤' as const, value: 200, unit: 'MB' as const, text: '≤ 200 MB' };
  const rows: Row[] = [
    {
      id: 'mem-export',
      label: `memory: export peak RSS (scale ${ctx.opts.scale}, ${ctx.opts.compression})`,
      peakRss: fullPeak,
      measure: { value: fullPeak / MB, unit: 'MB' },
      target: limit,
    },
  ];
  if (ctx.state.restorePeak !== undefined) {
    rows.push({
      id: 'mem-restore',
      label: `memory: restore peak RSS (scale ${ctx.opts.scale})`,
      peakRss: ctx.state.restorePeak,
      measure: { value: ctx.state.restorePeak / MB, unit: 'MB' },
      target: limit,
    });
  }
  rows.push(
    {
      id: 'mem-quarter',
      label: `memory: export peak RSS (scale ${ctx.opts.scale / 4}, ${ctx.opts.compression})`,
      wallS: quarter.wallS,
      rows: quarter.rows,
      bytes: quarter.bytes,
      peakRss: quarter.peakRss,
      measure: { value: quarter.peakRss / MB, unit: 'MB' },
      target: limit,
      notes: [`worker idle RSS ${(quarter.idleRss / MB).toFixed(0)} MB`],
    },
    {
      id: 'mem-growth',
      label: 'memory: export peak growth, 4× rows',
      measure: { value: fullPeak / quarter.peakRss, unit: 'x' },
      target: { op: '<', value: 1.2, unit: 'x', text: '< 1.20× (+20 %)' },
      notes: [
        `${(quarter.peakRss / MB).toFixed(0)} MB at ${quarter.rows.toLocaleString('en')} rows → ` +
          `${(fullPeak / MB).toFixed(0)} MB at ${ctx.db.totalRows.toLocaleString('en')} rows`,
      ],
    },
  );
  return rows;
}
