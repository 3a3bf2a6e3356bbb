import { readdirSync, readFileSync } from 'node:fs';
import { cpuShares, cpuTicksOf, readCpuSeconds } from './processes.js';

/** What the CPU did while a measured side ran ({@link watchCpu}). */
export interface CpuWindow {
  /**
   * CPU seconds of the PostgreSQL backends serving the database (and their parallel workers); null when no
   * PostgreSQL process is visible on this machine at all.
   */
  databaseS: number | null;
  /** How many of those backends were seen. */
  backends: number;
  /** The machine's cores over the window: busy and stolen by the hypervisor, as shares of all cores' time. */
  busyPct: number;
  stealPct: number;
}

/**
 * Every 200 ms: a backend that exits loses at most its last interval, and one that lives less than an interval
 * (a `pg_restore` of a tiny database) may not be seen at all.
 */
const SAMPLE_MS = 200;

/**
 * The process title PostgreSQL gives a backend: `postgres: [<cluster_name>: ]<user> <database> <client> <state>`,
 * and to a parallel worker `postgres: [<cluster_name>: ]parallel worker for PID <leader>`.
 */
const BACKEND = /^postgres: (?:\S+: )?\S+ (\S+) /;
const PARALLEL_WORKER = /^postgres: (?:\S+: )?parallel worker for PID (\d+)/;
/** A process just forked by PostgreSQL still has the server's own title for a moment: it is looked at again. */
const UNTITLED = /^\S*postgres(\s|$)/;

function processTitle(pid: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return null;
  }
}

const machineTicks = () => cpuTicksOf(readFileSync('/proc/stat', 'utf8'));

/**
 * Watches, from now until `stop()`, the CPU used by the PostgreSQL backends of `database` on this machine (read
 * from /proc by their process titles, PostgreSQL's default `update_process_title = on`) and the machine's busy
 * and stolen share. That names what bounds a side: its own process, its database backend, or a machine whose
 * cores were taken by others. Backends alive at the start count from their CPU then; later ones from zero.
 * `databaseS` is null when no PostgreSQL process is visible here (PostgreSQL on another host).
 */
export function watchCpu(database: string): { stop(): CpuWindow } {
  // Whether each process seen is one of the database's, decided once from its title: a sample reads the titles
  // of new processes only, and the CPU of the database's.
  const ours = new Map<number, boolean>();
  const base = new Map<number, number>();
  const last = new Map<number, number>();
  let serverSeen = false;
  const ticks0 = machineTicks();
  const sample = (first: boolean) => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      if (!ours.has(pid)) {
        const title = processTitle(entry) ?? '';
        if (title.startsWith('postgres: ')) serverSeen = true;
        const leader = PARALLEL_WORKER.exec(title)?.[1];
        if (leader !== undefined) ours.set(pid, ours.get(Number(leader)) === true);
        else if (BACKEND.exec(title)?.[1] === database) ours.set(pid, true);
        else if (!UNTITLED.test(title)) ours.set(pid, false);
        else continue;
      }
      if (!ours.get(pid)) continue;
      const cpu = readCpuSeconds(pid);
      if (cpu === null) continue;
      if (!base.has(pid)) base.set(pid, first ? cpu : 0);
      last.set(pid, cpu);
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), SAMPLE_MS);
  timer.unref(); // a side that throws before stop() must not keep the bench alive
  return {
    stop() {
      clearInterval(timer);
      sample(false);
      const shares = cpuShares(ticks0, machineTicks());
      let databaseS = 0;
      for (const [pid, cpu] of last) databaseS += cpu - (base.get(pid) ?? 0);
      return {
        databaseS: serverSeen ? databaseS : null,
        backends: last.size,
        busyPct: 100 * shares.busy,
        stealPct: 100 * shares.stolen,
      };
    },
  };
}

/** "database backends 27.3 s CPU (3 processes); cores 71 % busy, 18 % stolen" (busy excludes stolen). */
export function describeCpu(window: CpuWindow): string {
  const db =
    window.databaseS === null
      ? 'database backends not visible (PostgreSQL is not on this machine)'
      : `database backends ${window.databaseS.toFixed(1)} s CPU (${window.backends} processes)`;
  return `${db}; cores ${window.busyPct.toFixed(0)} % busy, ${window.stealPct.toFixed(0)} % stolen`;
}
