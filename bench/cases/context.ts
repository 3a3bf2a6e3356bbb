import type { BenchOptions } from '../lib/args.js';
import { databaseOf, type BenchDatabase } from '../lib/databases.js';
import { watchCpu, type CpuWindow } from '../lib/db-cpu.js';
import { callApi, login, stageRecorder, startWorker, stopService, waitFinal, type Harness } from '../lib/harness.js';
import type { Service } from '../lib/processes.js';
import { quiesce, type Quiesced } from '../lib/quiesce.js';

export interface CaseContext {
  h: Harness;
  opts: BenchOptions;
  /** The cached bench database (row counts); cases run on `work`, a file copy of it. */
  db: BenchDatabase;
  work: { name: string; url: string };
  api: Service;
  /** The scale/4 database for the memory case. */
  quarter: { db: BenchDatabase } | null;
  run: number;
  /** What earlier cases of this run produced, reused by later ones. */
  state: {
    backupId?: string;
    dumpPath?: string;
    dumpBytes?: number;
    exportPeak?: number;
    restorePeak?: number;
  };
}

export interface ExportRun {
  backupId: string;
  wallS: number;
  bytes: number;
  rows: number;
  peakRss: number;
  idleRss: number;
  /** Worker CPU seconds spent on the job (user + system, start-up excluded). */
  cpuS: number;
  durationMs: number | null;
  /** Time the worker spent reading the stored copy back (verification.durationMs), part of `durationMs`. */
  readBackMs: number | null;
  stages: Map<string, number>;
  /** The wait for a quiet server before the request was sent. */
  quiet: Quiesced;
  /** The database backends' CPU and the machine's, from the request to the final record. */
  cpu: CpuWindow;
}

const s = (ms: number) => ms / 1000;

/**
 * One full export through the real API and a fresh worker process: POST /api/backup/create (audit logs and
 * sessions included) → the record is `completed`. Wall time runs from sending the request to first seeing
 * the completed record; the peak RSS is the worker's VmHWM, read before it is stopped.
 */
export async function exportThroughWorker(
  ctx: CaseContext,
  target: { url: string; api: Service },
  name: string,
  compression: 'gzip' | 'zstd' = 'gzip',
  location: 'local' | 'cloud' | 'both' = 'local',
): Promise<ExportRun> {
  const worker = await startWorker(ctx.h, target.url, name);
  try {
    const token = await login(ctx.h, target.api);
    const quiet = await quiesce(ctx.h.adminUrl, ctx.opts);
    const cpu0 = worker.cpuSeconds() ?? 0;
    const watch = watchCpu(databaseOf(target.url));
    const t0 = performance.now();
    const accepted = await callApi<{ backupId: string; jobId: string }>(target.api, 'POST', '/api/backup/create', {
      token,
      body: { includeAuditLogs: true, includeSessions: true, location, compression },
      expect: 202,
    });
    const stages = stageRecorder(ctx.h, 'backup', accepted.jobId, t0);
    const { row, seenAt } = await waitFinal(target.url, 'backup_records', accepted.backupId, { onTick: stages.tick });
    const cpu = watch.stop();
    const peak = worker.memory();
    const cpuS = (worker.cpuSeconds() ?? 0) - cpu0;
    const counts = (row.recordCounts ?? {}) as Record<string, number>;
    return {
      backupId: accepted.backupId,
      wallS: s(seenAt - t0),
      bytes: Number(row.fileSize ?? 0),
      rows: Object.values(counts).reduce((a, b) => a + b, 0),
      peakRss: peak?.hwm ?? 0,
      idleRss: worker.idle.rss,
      cpuS,
      durationMs: row.durationMs ?? null,
      readBackMs: row.verification?.durationMs ?? null,
      stages: stages.seen,
      quiet,
      cpu,
    };
  } finally {
    await stopService(ctx.h, worker);
  }
}

/** "exporting:users 0.4 s, exporting:loans 2.1 s, …" */
export function describeStages(stages: Map<string, number>): string {
  return [...stages].map(([k, t]) => `${k} @${t.toFixed(1)} s`).join(', ');
}
