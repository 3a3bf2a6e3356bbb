// `node --import tsx bench/run.ts [options]` (normally through `npm run bench`, which provisions the services).
// Env: BENCH_ADMIN_DATABASE_URL (superuser URL of the server; else TEST_ADMIN_DATABASE_URL, else DATABASE_URL's
// server) and REDIS_URL. Builds or reuses the seeded bench database, runs each case beside its reference and
// prints the table. Exit code 0 whether targets pass or fail; non-zero only when something breaks.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBenchArgs, type BenchOptions } from './lib/args.js';
import {
  benchDatabaseName,
  cleanBenchLeftovers,
  copyDatabase,
  dropDatabase,
  ensureBenchDatabase,
  ensureSchemaTemplate,
  upsertBenchAdmin,
  withDatabase,
} from './lib/databases.js';
import { createHarness, obliterateQueues, startApi, stopAll, type Harness } from './lib/harness.js';
import { aggregate, formatTable, type Row } from './lib/report.js';
import type { CaseContext } from './cases/context.js';
import { exportCase } from './cases/export.js';
import { restoreCase } from './cases/restore.js';
import { memoryCase } from './cases/memory.js';
import { apiCase } from './cases/api.js';
import { drillCase } from './cases/drill.js';
import { cloudCase } from './cases/cloud.js';
import { startCloudinaryEmulator } from '@mp/testing';

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

function serviceUrls(): { adminUrl: string; redisUrl: string } {
  const env = process.env;
  const adminUrl =
    env.BENCH_ADMIN_DATABASE_URL ||
    env.TEST_ADMIN_DATABASE_URL ||
    (env.DATABASE_URL ? withDatabase(env.DATABASE_URL, 'postgres') : '');
  if (!adminUrl)
    throw new Error(
      'set BENCH_ADMIN_DATABASE_URL (or DATABASE_URL) to a PostgreSQL server where the bench may create databases, ' +
        'or use `npm run bench`',
    );
  if (!env.REDIS_URL) throw new Error('set REDIS_URL, or use `npm run bench`');
  return { adminUrl, redisUrl: env.REDIS_URL };
}

async function main(opts: BenchOptions, h: Harness, cleanups: (() => Promise<void>)[]): Promise<void> {
  const started = performance.now();
  log(
    `scale ${opts.scale}, cases ${opts.cases.join(',')}, runs ${opts.runs}${opts.smoke ? ', smoke' : ''}` +
      `${opts.encrypt ? ', files encrypted' : ''}; output in ${h.outDir}`,
  );
  const migrations = await ensureSchemaTemplate(h.adminUrl);
  const db = await ensureBenchDatabase(h.adminUrl, opts.scale, migrations, log);
  const quarterDb = opts.cases.includes('memory')
    ? await ensureBenchDatabase(h.adminUrl, opts.scale / 4, migrations, log)
    : null;
  for (const d of [db, quarterDb]) {
    if (!d) continue;
    await upsertBenchAdmin(d.url, h.password);
    cleanups.push(() => cleanBenchLeftovers(d.url));
  }
  // Every case runs on a file copy, so the restore can replace tables without touching the cache.
  // Per run, so two benches on one server (or a bench beside a development run) never share a work copy.
  const workName = `${benchDatabaseName(opts.scale)}_work_${process.pid}`;
  log(`copying ${db.name} → ${workName}`);
  await copyDatabase(h.adminUrl, db.name, workName);
  cleanups.push(() => dropDatabase(h.adminUrl, workName));
  const work = { name: workName, url: withDatabase(h.adminUrl, workName) };
  cleanups.push(() => obliterateQueues(h));
  if (opts.cases.includes('cloud')) {
    // As the tests start it: in this process, on loopback; every service started from here on gets its URL.
    const emulator = await startCloudinaryEmulator();
    h.cloudinaryUrl = emulator.cloudinaryUrl;
    cleanups.push(() => emulator.close());
  }
  const api = await startApi(h, work.url, 'main');

  const perRun: Row[][] = [];
  for (let run = 1; run <= opts.runs; run++) {
    const ctx: CaseContext = { h, opts, db, work, api, quarter: quarterDb ? { db: quarterDb } : null, run, state: {} };
    const rows: Row[] = [];
    const cases = {
      export: exportCase,
      restore: restoreCase,
      memory: memoryCase,
      api: apiCase,
      drill: drillCase,
      cloud: cloudCase,
    };
    for (const name of opts.cases) {
      log(`run ${run}/${opts.runs}: ${name}`);
      const t = performance.now();
      rows.push(...(await cases[name](ctx)));
      log(`run ${run}/${opts.runs}: ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    perRun.push(rows);
  }

  const table = aggregate(perRun, !opts.smoke);
  const when = new Date().toISOString();
  const header = [
    `Bench ${when}: scale ${opts.scale} (${db.totalRows.toLocaleString('en')} rows: ${Object.entries(db.counts)
      .map(([t, n]) => `${t} ${n.toLocaleString('en')}`)
      .join(', ')})`,
    `runs ${opts.runs}${opts.runs > 1 ? ' (medians)' : ''}${
      opts.encrypt ? '; files encrypted ' + '(BACKUP_ENCRYPTION_KEY)' : ''
    }; ${os.cpus().length} vCPU, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}; total ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  process.stdout.write(`\n${header.join('\n')}\n\n${formatTable(table, !opts.smoke)}\n`);
  if (opts.json)
    writeFileSync(
      opts.json,
      `${JSON.stringify({ when, options: opts, counts: db.counts, rows: table, perRun }, null, 2)}\n`,
    );
}

const opts = (() => {
  try {
    return parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
})();

const { adminUrl, redisUrl } = serviceUrls();
const outDir = opts.outDir ? path.resolve(opts.outDir) : mkdtempSync(path.join(os.tmpdir(), 'mp-bench-'));
mkdirSync(outDir, { recursive: true });
const h = createHarness({ adminUrl, redisUrl, outDir, profile: opts.profile, encrypt: opts.encrypt, log });
const cleanups: (() => Promise<void>)[] = [];

let finishing: Promise<void> | null = null;
function finish(code: number): Promise<void> {
  finishing ??= (async () => {
    await stopAll(h);
    for (const c of cleanups.reverse()) await c().catch((err: Error) => log(`cleanup: ${err.message}`));
    if (!opts.keep) {
      // Without --out everything goes; with --out the logs and profiles stay, the big files go.
      if (!opts.outDir) rmSync(outDir, { recursive: true, force: true });
      else for (const dir of ['backups', 'uploads']) rmSync(path.join(outDir, dir), { recursive: true, force: true });
      if (opts.outDir)
        for (let run = 1; run <= opts.runs; run++) rmSync(path.join(outDir, `dump-${run}.fc`), { force: true });
    }
    process.exit(code);
  })();
  return finishing;
}
process.on('SIGINT', () => void finish(130));
process.on('SIGTERM', () => void finish(143));

try {
  await main(opts, h, cleanups);
  await finish(0);
} catch (err) {
  log(`error: ${(err as Error).stack ?? err}`);
  await finish(1);
}
