import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createEmptyDatabase, dropDatabase, withClient, withDatabase } from '../lib/databases.js';
import { callApi, login, stageRecorder, startWorker, stopService } from '../lib/harness.js';
import { waitFinal } from '../lib/harness.js';
import { describeCpu, watchCpu, type CpuWindow } from '../lib/db-cpu.js';
import { runMeasured } from '../lib/processes.js';
import type { Row } from '../lib/report.js';
import { describeStages, exportThroughWorker, type CaseContext } from './context.js';
import { dumpReference } from './export.js';
import { describeQuiesce, quiesce, type Quiesced } from '../lib/quiesce.js';

const MB = 1024 * 1024;

/** `pg_restore -j2` of the run's dump into a new empty database (dropped afterwards). */
async function pgRestoreReference(ctx: CaseContext, dumpPath: string) {
  const name = `${ctx.work.name}_pgrestore`;
  await createEmptyDatabase(ctx.h.adminUrl, name);
  try {
    const quiet = await quiesce(ctx.h.adminUrl, ctx.opts);
    const watch = watchCpu(name);
    const run = await runMeasured('pg_restore', [
      '-j2',
      '--no-owner',
      `--dbname=${withDatabase(ctx.h.adminUrl, name)}`,
      dumpPath,
    ]);
    return { wallS: run.wallMs / 1000, peakRss: run.peakRss, quiet, cpuS: run.cpuS, cpu: watch.stop() };
  } finally {
    await dropDatabase(ctx.h.adminUrl, name);
  }
}

/**
 * Target 2: restore of the run's backup through a fresh worker as the user waits for it (enqueue to
 * `completed`: validation, the typed conversion, the swap that keeps the replaced tables as the restore
 * point) ≤ 1.0× `pg_restore -j2`. The pre-restore file is written afterwards from the restore point, in the
 * background: it is timed from its own record and reported on its own row. The restore replaces the work
 * database's tables in place.
 */
export async function restoreCase(ctx: CaseContext): Promise<Row[]> {
  if (!ctx.state.backupId)
    ctx.state.backupId = (
      await exportThroughWorker(
        ctx,
        { url: ctx.work.url, api: ctx.api },
        `restore-prep-r${ctx.run}`,
        ctx.opts.compression,
      )
    ).backupId;
  if (!ctx.state.dumpPath) {
    const dump = await dumpReference(ctx);
    ctx.state.dumpPath = dump.path;
    ctx.state.dumpBytes = dump.bytes;
  }
  const backupId = ctx.state.backupId;
  const backup = await withClient(ctx.work.url, (c) =>
    c
      .query<{ fileSize: string }>(`SELECT "fileSize" FROM backup_records WHERE id = $1`, [backupId])
      .then((r) => Number(r.rows[0]?.fileSize ?? 0)),
  );

  const refFirst = ctx.run % 2 === 1;
  const refBefore = refFirst ? await pgRestoreReference(ctx, ctx.state.dumpPath) : null;

  const worker = await startWorker(ctx.h, ctx.work.url, `restore-r${ctx.run}`);
  let measured: {
    totalS: number;
    safetyS: number;
    safetyBytes: number;
    pointBytes: number;
    rows: number;
    peakRss: number;
    idleRss: number;
    stages: string;
    cpuS: number;
    cpuWithSafetyS: number;
    /** 1-minute load average when the restore was sent (the machine may be shared). */
    load: string;
    /** The ANALYZE of the restored tables after `completed` (worker log), not in the wait. */
    analyzeMs: number | null;
    quiet: Quiesced;
    /** The database backends' CPU and the machine's, from the request to `completed`. */
    cpu: CpuWindow;
  };
  try {
    const token = await login(ctx.h, ctx.api);
    const quiet = await quiesce(ctx.h.adminUrl, ctx.opts);
    const cpu0 = worker.cpuSeconds() ?? 0;
    const load = os.loadavg()[0]!.toFixed(1);
    const watch = watchCpu(ctx.work.name);
    const t0 = performance.now();
    const accepted = await callApi<{ jobId: string; operationId?: string }>(ctx.api, 'POST', '/api/backup/restore', {
      token,
      body: { backupId, skipSafetyBackup: false },
      expect: 202,
    });
    const opId = accepted.operationId ?? accepted.jobId;
    const stages = stageRecorder(ctx.h, 'maintenance', accepted.jobId, t0);
    const { row, seenAt } = await waitFinal(ctx.work.url, 'operations', opId, { onTick: stages.tick });
    const cpu = watch.stop();
    const cpuS = (worker.cpuSeconds() ?? 0) - cpu0;
    const result = row.result as { restored: Record<string, number> };
    const pointBytes = Number((row as { restorePointBytes?: string | null }).restorePointBytes ?? 0);
    // The pre-restore file, written in the background from the restore point once the restore completed.
    const safetyId = await waitForSafety(ctx.work.url, opId);
    const safety = await withClient(ctx.work.url, (c) =>
      c.query<{ createdAt: Date; completedAt: Date; fileSize: string }>(
        `SELECT "createdAt", "completedAt", "fileSize" FROM backup_records WHERE id = $1`,
        [safetyId],
      ),
    ).then((r) => r.rows[0]);
    if (!safety?.completedAt) throw new Error('the restore reported no completed pre-restore file');
    const analyzeMs = await analyzeTime(worker.logFile);
    const peak = worker.memory();
    await dropRestorePoint(ctx, opId);
    measured = {
      totalS: (seenAt - t0) / 1000,
      safetyS: (safety.completedAt.getTime() - safety.createdAt.getTime()) / 1000,
      safetyBytes: Number(safety.fileSize),
      pointBytes,
      rows: Object.values(result.restored).reduce((a, b) => a + b, 0),
      peakRss: peak?.hwm ?? 0,
      idleRss: worker.idle.rss,
      stages: describeStages(stages.seen),
      cpuS,
      cpuWithSafetyS: (worker.cpuSeconds() ?? 0) - cpu0,
      load,
      analyzeMs,
      quiet,
      cpu,
    };
  } finally {
    await stopService(ctx.h, worker);
  }
  const ref = refBefore ?? (await pgRestoreReference(ctx, ctx.state.dumpPath));
  ctx.state.restorePeak = measured.peakRss;
  return [
    {
      id: 'restore',
      label: `restore (worker, as the user waits; ${ctx.opts.compression} backup)`,
      wallS: measured.totalS,
      rows: measured.rows,
      bytes: backup,
      peakRss: measured.peakRss,
      measure: { value: measured.totalS / ref.wallS, unit: 'x' },
      target: { op: '≤', value: 1, unit: 'x', text: '≤ 1.00× pg_restore -j2' },
      notes: [
        `${measured.totalS.toFixed(1)} s / pg_restore -j2 ${ref.wallS.toFixed(1)} s = ` +
          `${(measured.totalS / ref.wallS).toFixed(2)}×, load average ${measured.load} at the start; enqueue → ` +
          `completed, restore point included (${(measured.pointBytes / MB).toFixed(0)} MB kept for undo); worker ` +
          `CPU ${measured.cpuS.toFixed(1)} s; ANALYZE of the restored tables after completed (not in the wait) ` +
          `${measured.analyzeMs === null ? 'not seen' : `${(measured.analyzeMs / 1000).toFixed(1)} s`}; worker idle ` +
          `RSS ${(measured.idleRss / MB).toFixed(0)} MB; peak RSS includes the background export`,
        `stages: ${measured.stages}`,
        `CPU to completed: worker ${measured.cpuS.toFixed(1)} s, ${describeCpu(measured.cpu)}`,
        `${describeQuiesce('restore', measured.quiet)}; ${describeQuiesce('pg_restore -j2', ref.quiet)}`,
      ],
    },
    {
      id: 'restore-safety',
      label: '  pre-restore export (background, not in ratio)',
      wallS: measured.safetyS,
      rows: measured.rows,
      bytes: measured.safetyBytes,
      notes: [
        `written from the restore point after the restore completed, maintenance off; worker CPU for restore + ` +
          `export ${measured.cpuWithSafetyS.toFixed(1)} s`,
      ],
    },
    {
      id: 'ref-pg-restore',
      label: '  reference: pg_restore -j2',
      wallS: ref.wallS,
      rows: ctx.db.totalRows,
      bytes: ctx.state.dumpBytes,
      peakRss: ref.peakRss,
      measure: { value: 1, unit: 'x' },
      notes: [
        `into an empty database (pg_restore creates the schema, loads, builds indexes and keys with 2 jobs); dump ` +
          `${path.basename(ctx.state.dumpPath)}`,
        `CPU: pg_restore ${ref.cpuS.toFixed(1)} s (its processes), ${describeCpu(ref.cpu)}`,
      ],
    },
  ];
}

/** The worker's `restore: statistics gathered` time (ms), waiting up to a minute for the line; null when absent. */
async function analyzeTime(logFile: string): Promise<number | null> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('restore: statistics gathered')) continue;
      let ms: unknown;
      try {
        ms = (JSON.parse(line) as { ms?: unknown }).ms;
      } catch {
        continue;
      }
      if (typeof ms === 'number') return ms;
    }
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Drops the restore point the measured restore kept for undo, the way an operator does (DELETE through the
 * API, the worker drops it with its write-log triggers), and waits until it is gone: otherwise the next run's
 * `pg_dump` reference, and its `pg_restore`, would carry twice the data.
 */
async function dropRestorePoint(ctx: CaseContext, operationId: string): Promise<void> {
  // The restore logged everyone out: a new session.
  const token = await login(ctx.h, ctx.api);
  await callApi(ctx.api, 'DELETE', `/api/backup/restore/${operationId}/restore-point`, { token, expect: 202 });
  const deadline = Date.now() + 600_000;
  for (;;) {
    const left = await withClient(ctx.work.url, (c) =>
      c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 'mp\\_restore\\_point\\_%'`),
    ).then((r) => Number(r.rows[0]?.n ?? 0));
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error('the restore point was not dropped within 10 minutes');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls the restore's result until its background pre-restore export links the file (or fails). */
async function waitForSafety(url: string, operationId: string): Promise<string> {
  const deadline = Date.now() + 3_600_000;
  for (;;) {
    const result = await withClient(url, (c) =>
      c.query<{ result: { safetyBackupId?: string | null; safetyBackup?: string; safetyBackupError?: string } | null }>(
        `SELECT result FROM operations WHERE id = $1`,
        [operationId],
      ),
    ).then((r) => r.rows[0]?.result);
    if (result?.safetyBackupId) return result.safetyBackupId;
    if (result?.safetyBackup === 'failed')
      throw new Error(`the pre-restore export failed: ${result.safetyBackupError ?? 'no reason given'}`);
    if (Date.now() > deadline) throw new Error('the pre-restore export did not finish within an hour');
    await new Promise((r) => setTimeout(r, 250));
  }
}
