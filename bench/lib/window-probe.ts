import { readFile } from 'node:fs/promises';
import { withClient } from './databases.js';
import { cpuShares, cpuTicksOf } from './processes.js';

/** What the machine, the API process and PostgreSQL did while a measured load ran (see {@link probeWindow}). */
interface Snapshot {
  /** /proc/stat's aggregate CPU line: [user, nice, system, idle, iowait, irq, softirq, steal] in ticks. */
  cpu: number[];
  /** The API's garbage collections so far: count and seconds, by kind (prom-client's default metrics). */
  gc: Map<string, { count: number; seconds: number; upTo10ms: number }>;
  /**
   * The API's longest event-loop delay since the previous scrape (prom-client resets it on each). It includes the
   * scrape's own work before the reading (the health checks of GET /metrics), not only the load's.
   */
  loopLagMaxS: number;
  /** /proc/meminfo's Dirty and Writeback, kB: file data the kernel still has to write to disk. */
  dirtyKb: number;
  /** /proc/vmstat: the kernel stalling an allocating process to compact or reclaim memory, and major faults. */
  vm: { compactStall: number; allocStall: number; majorFaults: number };
  checkpoints: number;
  /** Autovacuum and autoanalyze runs on the work database's tables. */
  autovacuum: number;
}

async function snapshot(apiUrl: string, dbUrl: string): Promise<Snapshot> {
  const [stat, meminfo, vmstat, metrics, pg] = await Promise.all([
    readFile('/proc/stat', 'utf8'),
    readFile('/proc/meminfo', 'utf8'),
    readFile('/proc/vmstat', 'utf8'),
    fetch(`${apiUrl}/metrics`).then((r) => r.text()),
    withClient(dbUrl, async (c) => {
      const cp = await c.query<{ n: string }>('SELECT checkpoints_timed + checkpoints_req AS n FROM pg_stat_bgwriter');
      const av = await c.query<{ n: string | null }>(
        'SELECT sum(autovacuum_count + autoanalyze_count) AS n FROM pg_stat_user_tables',
      );
      return { checkpoints: Number(cp.rows[0]?.n ?? 0), autovacuum: Number(av.rows[0]?.n ?? 0) };
    }),
  ]);
  const cpu = cpuTicksOf(stat);
  const gc = new Map<string, { count: number; seconds: number; upTo10ms: number }>();
  const gcLine = /^nodejs_gc_duration_seconds_(sum|count|bucket)\{(?:le="([\d.]+)",)?kind="(\w+)"\} ([\d.e+-]+)$/gm;
  for (const [, field, le, kind, value] of metrics.matchAll(gcLine)) {
    const entry = gc.get(kind!) ?? { count: 0, seconds: 0, upTo10ms: 0 };
    if (field === 'sum') entry.seconds = Number(value);
    else if (field === 'count') entry.count = Number(value);
    else if (le === '0.01') entry.upTo10ms = Number(value);
    gc.set(kind!, entry);
  }
  const lag = /^nodejs_eventloop_lag_max_seconds ([\d.e+-]+)$/m.exec(metrics);
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0);
  const dirtyKb = kb('Dirty') + kb('Writeback');
  const counter = (re: RegExp) => [...vmstat.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
  const vm = {
    compactStall: counter(/^compact_stall (\d+)$/gm),
    allocStall: counter(/^allocstall_\w+ (\d+)$/gm),
    majorFaults: counter(/^pgmajfault (\d+)$/gm),
  };
  return { cpu, gc, loopLagMaxS: Number(lag?.[1] ?? Number.NaN), dirtyKb, vm, ...pg };
}

/**
 * Runs `load` and says, in one line for a row's notes, what else happened meanwhile: the API's longest
 * event-loop delay and its garbage collections, the machine's CPU (busy, stolen by the hypervisor, waiting for
 * disk), file data not yet written, the kernel's compaction and reclaim stalls and major faults, and PostgreSQL's
 * checkpoints and autovacuum runs. For a tail that comes in clusters, these name what the API waited for, or rule
 * it out.
 */
export async function probeWindow<T>(
  opts: { apiUrl: string; dbUrl: string },
  load: () => Promise<T>,
): Promise<{ result: T; note: string }> {
  const before = await snapshot(opts.apiUrl, opts.dbUrl);
  const result = await load();
  const after = await snapshot(opts.apiUrl, opts.dbUrl);
  const cpu = cpuShares(before.cpu, after.cpu);
  const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
  const mb = (k: number) => `${(k / 1024).toFixed(0)} MB`;
  const gc = [...after.gc]
    .map(([kind, a]) => {
      const b = before.gc.get(kind) ?? { count: 0, seconds: 0, upTo10ms: 0 };
      const n = a.count - b.count;
      const long = n - (a.upTo10ms - b.upTo10ms);
      return `${kind} ${n} (${((a.seconds - b.seconds) * 1000).toFixed(0)} ms, ${long} over 10 ms)`;
    })
    .join(', ');
  const delta = (f: (x: Snapshot) => number) => f(after) - f(before);
  const note =
    `meanwhile: the API's event loop delayed up to ${(after.loopLagMaxS * 1000).toFixed(1)} ms (the closing ` +
    `scrape of /metrics included), its garbage collections ${gc || 'none reported'}; the machine's CPU busy ` +
    `${pct(cpu.busy)}, stolen ${pct(cpu.stolen)}, waiting for disk ${pct(cpu.iowait)}; not yet on disk ` +
    `${mb(before.dirtyKb)} before, ${mb(after.dirtyKb)} after; kernel stalls for compaction ` +
    `${delta((x) => x.vm.compactStall)}, for reclaim ${delta((x) => x.vm.allocStall)}, major faults ` +
    `${delta((x) => x.vm.majorFaults)}; PostgreSQL checkpoints ${delta((x) => x.checkpoints)}, autovacuum and ` +
    `autoanalyze runs ${delta((x) => x.autovacuum)}`;
  return { result, note };
}
