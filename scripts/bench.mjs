#!/usr/bin/env node
// `npm run bench [-- bench args]`: install, generate, provision PostgreSQL + Redis (BENCH_DATABASE_URL/DATABASE_URL and
// BENCH_REDIS_URL/REDIS_URL when given and reachable → testcontainers is not used → local processes in a temp
// folder),
// then run `node --import tsx bench/run.ts <args>`. The bench creates its own databases (mp_bench_*) on that server.
// Stops what it started; exits with the bench's code (0 even when a target fails: it is a measurement).
import path from 'node:path';
import { createScript } from './lib/main.mjs';
import { ensureThrowawayServices, lazyTempFolder } from './lib/throwaway.mjs';
import { run, sleep } from './lib/proc.mjs';
import { assertNodeVersion, ensureDependencies, makeLog, prismaGenerate, repoRoot } from './lib/setup.mjs';

const log = makeLog('bench');
const env = process.env;
const benchArgs = process.argv.slice(2);

const tempDir = lazyTempFolder('mp-bench-services-');
let child = null;

const { track, run: runMain } = createScript({
  log,
  /** Forwards a signal to the bench (it stops its services and drops its work databases) before ours stop. */
  beforeStop: async ({ signal }) => {
    if (!signal || !child?.pid || child.exitCode !== null) return;
    log(`${signal} received: stopping the bench`);
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + 30_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(100);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* group already gone */
    }
  },
  afterStop: async () => {
    tempDir.remove();
  },
});
await runMain(main);

async function main() {
  assertNodeVersion();
  await ensureDependencies({ log });
  await prismaGenerate({});
  const [pg, redis] = await ensureThrowawayServices({
    postgres: {
      url: env.BENCH_DATABASE_URL || env.DATABASE_URL,
      label: env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'DATABASE_URL',
    },
    redis: {
      url: env.BENCH_REDIS_URL || env.REDIS_URL,
      label: env.BENCH_REDIS_URL ? 'BENCH_REDIS_URL' : 'REDIS_URL',
    },
    folder: tempDir,
    log,
    track,
  });
  const { waitForSql, withDatabase } = await import('./lib/sql.mjs');
  const adminUrl = withDatabase(pg.url, 'postgres');
  await waitForSql(adminUrl);
  const benchEnv = { ...env, BENCH_ADMIN_DATABASE_URL: adminUrl, REDIS_URL: redis.url };
  // The bench runs in its own process group so teardown reaches the API and workers it started.
  const res = await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench', 'run.ts'), ...benchArgs], {
    cwd: repoRoot,
    env: benchEnv,
    inherit: true,
    detached: true,
    onSpawn: (c) => {
      child = c;
    },
  });
  return res.code;
}
