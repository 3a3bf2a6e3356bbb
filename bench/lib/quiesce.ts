import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from './databases.js';
import { cpuShares, cpuTicksOf } from './processes.js';

/** What {@link quiesce} waited for before a measurement, for the row's notes. */
export interface Quiesced {
  /** Seconds waited in all. */
  waitedS: number;
  /** The server still had autovacuum workers, or the machine was still busy, when the wait gave up. */
  gaveUp: boolean;
  /** `--smoke`: no wait (its figures are not judged, and the test suite keeps the machine busy). */
  skipped?: boolean;
}

/** Idle share of both cores over one second at which the machine counts as quiet. */
const QUIET_IDLE = 0.8;
const MAX_WAIT_MS = 180_000;

/**
 * Waits until the server and the machine are quiet before one side of a comparison is timed: no
 * autovacuum worker running (a restore leaves 2 M freshly written rows for it), then a CHECKPOINT
 * (the dirty pages the previous step left are written now, not during the next measurement), then
 * the cores at least {@link QUIET_IDLE} idle over a second (anything else still busy: a dropped
 * restore point's files, the previous process's exit). Both sides of a ratio get the same wait, so
 * the previous run's aftermath lands on neither. Gives up after {@link MAX_WAIT_MS} and says so.
 * Skipped with `smoke`.
 */
export async function quiesce(adminUrl: string, opts: { smoke: boolean }): Promise<Quiesced> {
  if (opts.smoke) return { waitedS: 0, gaveUp: false, skipped: true };
  const started = performance.now();
  const deadline = started + MAX_WAIT_MS;
  let gaveUp = true;
  await withClient(adminUrl, async (c) => {
    while (performance.now() < deadline) {
      const { rows } = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`,
      );
      if (Number(rows[0]?.n ?? 0) === 0) break;
      await sleep(500);
    }
    await c.query('CHECKPOINT');
  });
  while (performance.now() < deadline) {
    if ((await idleShare(1000)) >= QUIET_IDLE) {
      gaveUp = false;
      break;
    }
  }
  return { waitedS: (performance.now() - started) / 1000, gaveUp };
}

/** Share of all cores' time spent idle over `ms` (from /proc/stat). */
async function idleShare(ms: number): Promise<number> {
  const before = await cpuTicks();
  await sleep(ms);
  return cpuShares(before, await cpuTicks()).idle;
}

const cpuTicks = async () => cpuTicksOf(await readFile('/proc/stat', 'utf8'));

/** The note a row carries about its wait. */
export function describeQuiesce(side: string, q: Quiesced): string {
  if (q.skipped) return `${side}: no wait for a quiet server (smoke)`;
  return `${side}: waited ${q.waitedS.toFixed(1)} s for a quiet server${q.gaveUp ? ' (gave up: still busy)' : ''}`;
}
