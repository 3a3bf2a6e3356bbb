import { readdirSync } from 'node:fs';
import { constants, getPriority, setPriority } from 'node:os';
import type { Logger } from '@mp/logger';

/**
 * Niceness of the worker process. Exports and restores are batch work that keeps a core busy (gzip, hashing,
 * parsing); at 10 the scheduler gives a runnable API request about 9 times the worker's share of a
 * contended core, so the API's latency holds while a job runs, and an idle machine still gives the
 * worker all it asks for. Only the relative priority of processes scheduled together matters: on Linux
 * with autogroup, processes in one session; in containers, prefer CPU weights between the containers.
 */
export const WORKER_NICENESS = constants.priority.PRIORITY_BELOW_NORMAL;

/**
 * Lowers the priority of every thread of this process (the libuv pool runs zlib and crypto, V8 helper
 * threads collect garbage), not just the calling one: on Linux a niceness is per thread and threads
 * inherit it only when they are created. Best effort: a failure is logged, never fatal.
 */
export function lowerPriority(logger: Logger): void {
  try {
    const threads = process.platform === 'linux' ? readdirSync('/proc/self/task').map(Number) : [0];
    // Never raise it: a worker started under `nice -n 15` stays there.
    for (const tid of threads) setPriority(tid, Math.max(getPriority(tid), WORKER_NICENESS));
  } catch (err) {
    logger.warn({ err: (err as Error).message, niceness: WORKER_NICENESS }, 'could not lower the worker priority');
  }
}
