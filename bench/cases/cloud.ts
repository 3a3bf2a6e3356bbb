import type { Row } from '../lib/report.js';
import { exportThroughWorker, type CaseContext, type ExportRun } from './context.js';

const MB = 1024 * 1024;

/**
 * Issue 16 item 6: an export with `location: "cloud"` and one with `"both"` against the Cloudinary emulator,
 * each beside a local export of the same work database in the same run (target ≤ 1.3× its wall time), with
 * the worker's peak RSS. The emulator runs in the bench process (started by run.ts, as the tests start it);
 * every service of the run gets its CLOUDINARY_URL. The local reference runs first, then cloud, then both.
 */
export async function cloudCase(ctx: CaseContext): Promise<Row[]> {
  if (!ctx.h.cloudinaryUrl) throw new Error('the cloud case needs the Cloudinary emulator (run.ts starts it)');
  const target = { url: ctx.work.url, api: ctx.api };
  const local = await exportThroughWorker(ctx, target, `cloud-ref-local-r${ctx.run}`, 'gzip', 'local');
  const cloud = await exportThroughWorker(ctx, target, `cloud-cloud-r${ctx.run}`, 'gzip', 'cloud');
  const both = await exportThroughWorker(ctx, target, `cloud-both-r${ctx.run}`, 'gzip', 'both');
  const row = (id: string, label: string, run: ExportRun): Row => ({
    id,
    label,
    wallS: run.wallS,
    rows: run.rows,
    bytes: run.bytes,
    peakRss: run.peakRss,
    measure: { value: run.wallS / local.wallS, unit: 'x' },
    target: { op: '≤', value: 1.3, unit: 'x', text: '≤ 1.30× the local export' },
    notes: [
      `file ${(run.bytes / MB).toFixed(1)} MB, worker CPU ${run.cpuS.toFixed(1)} s ` +
        `(local export ${local.cpuS.toFixed(1)} s), ` +
        `read-back ${run.readBackMs ?? '?'} ms of durationMs ${run.durationMs ?? '?'}`,
    ],
  });
  return [
    row('export-cloud', 'export to the cloud (emulator)', cloud),
    row('export-both', 'export to local and cloud (emulator)', both),
    {
      id: 'ref-local-export',
      label: '  reference: export, local only',
      wallS: local.wallS,
      rows: local.rows,
      bytes: local.bytes,
      peakRss: local.peakRss,
      measure: { value: 1, unit: 'x' },
      notes: [`worker CPU ${local.cpuS.toFixed(1)} s`],
    },
  ];
}
