import { statSync } from 'node:fs';
import path from 'node:path';
import { describeCpu, watchCpu, type CpuWindow } from '../lib/db-cpu.js';
import { runMeasured } from '../lib/processes.js';
import type { Row } from '../lib/report.js';
import { describeStages, exportThroughWorker, type CaseContext } from './context.js';
import { describeQuiesce, quiesce, type Quiesced } from '../lib/quiesce.js';

const MB = 1024 * 1024;

/** `pg_dump -Fc` of the work database to `<out>/dump-<run>.fc`, timed and sampled like the worker. */
export async function dumpReference(ctx: CaseContext): Promise<{
  path: string;
  wallS: number;
  bytes: number;
  peakRss: number;
  quiet: Quiesced;
  /** pg_dump's own CPU seconds, and its database backend's and the machine's. */
  cpuS: number;
  cpu: CpuWindow;
}> {
  const file = path.join(ctx.h.outDir, `dump-${ctx.run}.fc`);
  const quiet = await quiesce(ctx.h.adminUrl, ctx.opts);
  const watch = watchCpu(ctx.work.name);
  const run = await runMeasured('pg_dump', ['-Fc', '-f', file, `--dbname=${ctx.work.url}`]);
  const cpu = watch.stop();
  const bytes = statSync(file).size;
  return { path: file, wallS: run.wallMs / 1000, bytes, peakRss: run.peakRss, quiet, cpuS: run.cpuS, cpu };
}

/**
 * Target 1: export (JSON, gzip, through the worker) ≤ 1.0× `pg_dump -Fc` of the same database. Both run
 * side by side in the same run; the order alternates between runs so neither always gets the warmer cache.
 * With `--compression zstd` the export is zstd (target ≤ 0.5×), and a gzip export of the same database runs
 * after it as the reference for the file size (zstd's file no larger than gzip's).
 */
export async function exportCase(ctx: CaseContext): Promise<Row[]> {
  const zstd = ctx.opts.compression === 'zstd';
  const refFirst = ctx.run % 2 === 1;
  const ref = refFirst ? await dumpReference(ctx) : null;
  const exp = await exportThroughWorker(
    ctx,
    { url: ctx.work.url, api: ctx.api },
    `export-r${ctx.run}`,
    ctx.opts.compression,
  );
  const dump = ref ?? (await dumpReference(ctx));
  const gzip = zstd
    ? await exportThroughWorker(ctx, { url: ctx.work.url, api: ctx.api }, `export-gzip-r${ctx.run}`, 'gzip')
    : null;
  ctx.state.backupId = exp.backupId;
  ctx.state.dumpPath = dump.path;
  ctx.state.dumpBytes = dump.bytes;
  ctx.state.exportPeak = exp.peakRss;
  const rows = ctx.db.totalRows;
  return [
    {
      id: 'export',
      label: `export (worker, JSON + ${ctx.opts.compression})`,
      wallS: exp.wallS,
      rows: exp.rows,
      bytes: exp.bytes,
      peakRss: exp.peakRss,
      measure: { value: exp.wallS / dump.wallS, unit: 'x' },
      target: zstd
        ? { op: '≤', value: 0.5, unit: 'x', text: '≤ 0.50× pg_dump -Fc' }
        : { op: '≤', value: 1, unit: 'x', text: '≤ 1.00× pg_dump -Fc' },
      notes: [
        `file ${(exp.bytes / MB).toFixed(1)} MB, record durationMs ${exp.durationMs}, worker idle RSS ` +
          `${(exp.idleRss / MB).toFixed(0)} MB`,
        `CPU: worker ${exp.cpuS.toFixed(1)} s, ${describeCpu(exp.cpu)}`,
        `stages: ${describeStages(exp.stages)}`,
        `${describeQuiesce('export', exp.quiet)}; ${describeQuiesce('pg_dump -Fc', dump.quiet)}`,
      ],
    },
    {
      id: 'read-back',
      label: '  read-back (share of the export)',
      wallS: (exp.readBackMs ?? 0) / 1000,
      bytes: exp.bytes,
      measure: {
        value: exp.durationMs && exp.readBackMs !== null ? exp.readBackMs / exp.durationMs : Number.NaN,
        unit: 'x',
      },
      notes: [
        `read-back ${exp.readBackMs ?? '?'} ms of the record's durationMs ${exp.durationMs ?? '?'} (every copy read ` +
          `back and checked; included in the export row)`,
      ],
    },
    ...(gzip
      ? [
          {
            id: 'zstd-size',
            label: '  zstd file size against gzip',
            bytes: exp.bytes,
            measure: { value: exp.bytes / gzip.bytes, unit: 'x' as const },
            target: { op: '≤' as const, value: 1, unit: 'x' as const, text: '≤ 1.00× the gzip file' },
            notes: [`zstd ${(exp.bytes / MB).toFixed(1)} MB against gzip ${(gzip.bytes / MB).toFixed(1)} MB`],
          },
          {
            id: 'ref-gzip-export',
            label: '  reference: export with gzip (same database)',
            wallS: gzip.wallS,
            rows: gzip.rows,
            bytes: gzip.bytes,
            peakRss: gzip.peakRss,
            measure: { value: gzip.wallS / dump.wallS, unit: 'x' as const },
            notes: [
              `file ${(gzip.bytes / MB).toFixed(1)} MB, worker CPU ${gzip.cpuS.toFixed(1)} s (zstd export: ` +
                `${exp.cpuS.toFixed(1)} s), ${describeCpu(gzip.cpu)}`,
            ],
          },
        ]
      : []),
    {
      id: 'ref-pg-dump',
      label: '  reference: pg_dump -Fc',
      wallS: dump.wallS,
      rows,
      bytes: dump.bytes,
      peakRss: dump.peakRss,
      measure: { value: 1, unit: 'x' },
      notes: [
        `dump ${(dump.bytes / MB).toFixed(1)} MB`,
        `CPU: pg_dump ${dump.cpuS.toFixed(1)} s, ${describeCpu(dump.cpu)}`,
      ],
    },
  ];
}
