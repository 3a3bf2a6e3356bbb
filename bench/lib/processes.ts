import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServices, serviceArgs } from '../../scripts/build.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs a command to completion; throws with its output when it exits non-zero. */
export function runChecked(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`\`${path.basename(cmd)} ${args.join(' ')}\` exited with ${code}:\n${out.trim()}`)),
    );
  });
}

/** A free loopback TCP port (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ProcMemory {
  /** Peak resident set size so far (VmHWM), in bytes. */
  hwm: number;
  /** Current resident set size (VmRSS), in bytes. */
  rss: number;
}

/** VmHWM/VmRSS of a live process from /proc (null once it is gone). */
export function readProcMemory(pid: number): ProcMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return null;
  }
}

/**
 * The machine's CPU time from /proc/stat's text: its aggregate line's first eight fields, in ticks since boot
 * ([user, nice, system, idle, iowait, irq, softirq, steal]; idle and iowait are the idle time, steal the time the
 * hypervisor gave the cores to other guests).
 */
export function cpuTicksOf(procStat: string): number[] {
  return (procStat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
}

/**
 * Shares (0–1) of all cores' time between two {@link cpuTicksOf} readings: `busy` (user, system, irq; stolen time
 * excluded), `stolen` by the hypervisor, `idle` (idle and waiting for disk) and `iowait` alone.
 */
export function cpuShares(
  before: number[],
  after: number[],
): { busy: number; stolen: number; idle: number; iowait: number } {
  const ticks = after.map((v, i) => v - (before[i] ?? 0));
  const total = ticks.reduce((a, b) => a + b, 0);
  if (total <= 0) return { busy: 0, stolen: 0, idle: 1, iowait: 0 };
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const stolen = ticks[7] ?? 0;
  return {
    busy: (total - idle - stolen) / total,
    stolen: stolen / total,
    idle: idle / total,
    iowait: (ticks[4] ?? 0) / total,
  };
}

/** User + system CPU seconds a live process has used so far (/proc/<pid>/stat), or null once it is gone. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the full line, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface ToolRun {
  wallMs: number;
  /** Largest VmHWM seen of the process or any of its children (pg_restore -j forks workers), in bytes. */
  peakRss: number;
  /** CPU seconds of the process and its children, each as last sampled (up to 10 ms before it exited). */
  cpuS: number;
  output: string;
}

/**
 * Runs an external tool (pg_dump, pg_restore) directly (no shell, so the pid is the tool's), sampling the
 * VmHWM of it and its children every 10 ms. Throws with its output when it exits non-zero.
 */
export function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let peakRss = 0;
    const cpu = new Map<number, number>();
    const sample = () => {
      if (!child.pid) return;
      for (const pid of [child.pid, ...childPids(child.pid)]) {
        peakRss = Math.max(peakRss, readProcMemory(pid)?.hwm ?? 0);
        const seconds = readCpuSeconds(pid);
        if (seconds !== null) cpu.set(pid, seconds);
      }
    };
    const timer = setInterval(sample, 10);
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      const wallMs = performance.now() - started;
      if (code !== 0)
        reject(new Error(`\`${path.basename(cmd)} ${args.join(' ')}\` exited with ${code}:\n${output.trim()}`));
      else resolve({ wallMs, peakRss, cpuS: [...cpu.values()].reduce((a, b) => a + b, 0), output });
    });
  });
}

export interface Service {
  kind: 'api' | 'worker';
  pid: number;
  port: number | null;
  logFile: string;
  /** Milliseconds from spawn to ready. */
  readyMs: number;
  /** Memory right after start-up (before any job). */
  idle: ProcMemory;
  memory(): ProcMemory | null;
  /** CPU seconds (user + system) used since start. */
  cpuSeconds(): number | null;
  /** SIGTERM, then SIGKILL after 20 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

let built: Promise<unknown> | undefined;

/**
 * Starts services/api or services/worker the way production runs them, `node --enable-source-maps [V8 flags]
 * dist/<kind>.mjs` (never through npx, so the pid is the real process), its output appended to `logFile`. The
 * services are built (scripts/build.mjs) once per bench run, before the first start, so the bench always measures
 * the current sources. Ready means GET /healthz answers (API) or the worker
 * logged "worker ready". Throws with the log's tail when it exits or is not ready within 60 s.
 */
export async function startService(
  kind: 'api' | 'worker',
  opts: { env: NodeJS.ProcessEnv; logFile: string; nodeArgs?: string[]; port?: number },
): Promise<Service> {
  await (built ??= buildServices());
  const started = performance.now();
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...serviceArgs(kind)], {
    cwd: repoRoot,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let ready = false;
  let exited: number | null = null;
  const closed = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exited = code ?? 1;
      resolve();
    }),
  );
  const onData = (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString('utf8')).slice(-4000);
    if (kind === 'worker' && tail.includes('"msg":"worker ready"')) ready = true;
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const deadline = Date.now() + 60_000;
  while (!ready) {
    if (exited !== null) throw new Error(`${kind} exited with ${exited} during start-up:\n${tail.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} was not ready within 60 s:\n${tail.trim()}`);
    }
    if (kind === 'api')
      ready = await fetch(`http://127.0.0.1:${opts.port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    if (!ready) await sleep(kind === 'api' ? 100 : 50);
  }
  const pid = child.pid!;
  return {
    kind,
    pid,
    port: opts.port ?? null,
    logFile: opts.logFile,
    readyMs: performance.now() - started,
    idle: readProcMemory(pid) ?? { hwm: 0, rss: 0 },
    memory: () => readProcMemory(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await closed;
        clearTimeout(timer);
      }
      await new Promise<void>((r) => log.end(r));
    },
  };
}
