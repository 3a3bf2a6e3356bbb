#!/usr/bin/env node
// `npm test [-- vitest args]`: install, generate, provision throwaway PostgreSQL + Redis
// (TEST_DATABASE_URL/DATABASE_URL → testcontainers → local processes in a temp folder), create the migrated
// template database `mp_test_<pid>`, then typecheck, check dependencies, check format and lint (Biome) and line
// length (scripts/check-line-length.mjs), run vitest and scan every log it captured for secrets
// (scripts/check-secrets.mjs). Tears everything down at the end.
import { mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ensureChromiumInstalled } from './lib/chromium.mjs';
import { createScript } from './lib/main.mjs';
import { ensureThrowawayServices, lazyTempFolder } from './lib/throwaway.mjs';
import { run, settleWithin } from './lib/proc.mjs';
import {
  assertNodeVersion,
  bin,
  ensureDependencies,
  makeLog,
  prismaGenerate,
  prismaMigrateDeploy,
  repoRoot,
  runStep,
} from './lib/setup.mjs';

const log = makeLog('test');
const env = process.env;
const vitestArgs = process.argv.slice(2);
// One template per run, so two runs against one server (e.g. a shared TEST_DATABASE_URL) never clash.
const TEMPLATE_DB = `mp_test_${process.pid}`;
let templateAdminUrl = null;

const tempDir = lazyTempFolder('mp-test-');
let current = null; // the step's child process, so SIGTERM can be forwarded

const {
  step,
  track,
  waitForStep,
  run: runMain,
} = createScript({
  log,
  /** On a signal, stops the running step first; then the template database goes (the services follow). */
  beforeStop: async ({ signal }) => {
    if (signal) {
      log(`${signal} received: tearing down`);
      // SIGINT, like a terminal Ctrl-C: vitest then stops its workers and exits; anything left is killed.
      killGroup('SIGINT');
      await waitForStep(15_000);
      killGroup('SIGKILL');
    }
    if (templateAdminUrl) {
      const { dropDatabase } = await import('./lib/sql.mjs');
      await dropDatabase(templateAdminUrl, TEMPLATE_DB).catch((err) =>
        log(`could not drop ${TEMPLATE_DB}: ${err.message}`),
      );
    }
  },
  afterStop: async () => {
    tempDir.remove();
  },
});
await runMain(main);

async function main() {
  const started = Date.now();
  assertNodeVersion();
  await step(() => ensureDependencies({ log }));
  await step(() => prismaGenerate({}));

  const docker = await testcontainersStrategies();
  const [pg, redis] = await step(() =>
    ensureThrowawayServices({
      postgres: {
        url: env.TEST_DATABASE_URL || env.DATABASE_URL,
        label: env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'DATABASE_URL',
      },
      redis: {
        url: env.TEST_REDIS_URL || env.REDIS_URL,
        label: env.TEST_REDIS_URL ? 'TEST_REDIS_URL' : 'REDIS_URL',
      },
      docker,
      folder: tempDir,
      log,
      track,
    }),
  );

  const { recreateDatabase, waitForSql, withDatabase } = await import('./lib/sql.mjs');
  const adminUrl = withDatabase(pg.url, 'postgres');
  await step(() => waitForSql(adminUrl));
  const databaseUrl = withDatabase(pg.url, TEMPLATE_DB);
  log(`creating the template database ${TEMPLATE_DB} (prisma migrate deploy)`);
  await step(() => recreateDatabase(adminUrl, TEMPLATE_DB));
  templateAdminUrl = adminUrl;
  await step(() => prismaMigrateDeploy({ databaseUrl }));
  log(`services ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // Every service process's output, the API tests' logs, BullMQ job data and the secrets the helpers create
  // (packages/testing/src/secrets.ts) land here; the secret scan after vitest reads them.
  const logDir = path.join(tempDir.path, 'logs');
  mkdirSync(logDir, { recursive: true });
  const testEnv = {
    ...env,
    TEST_ADMIN_DATABASE_URL: adminUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    MP_TEST_LOG_DIR: logDir,
  };
  // The browser tests (tests/browser) drive Debian's Chromium: installed with apt when missing, like Redis.
  if (runsBrowserTests(vitestArgs)) testEnv.CHROMIUM_PATH = await step(() => ensureChromiumInstalled({ log }));
  // Each step runs in its own process group so teardown can reach its helpers too (vitest's fork workers).
  const onSpawn = (child) => {
    current = child;
  };
  const opts = { env: testEnv, onSpawn, detached: true };
  log('typecheck (tsc --noEmit)');
  await step(() => runStep(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], opts).finally(killGroup));
  // The console is a browser app with its own compiler settings (DOM, JSX): checked on its own.
  await step(() => runStep(bin('tsc'), ['-p', 'apps/console/tsconfig.json', '--noEmit'], opts).finally(killGroup));
  log('dependency rules (scripts/check-deps.mjs)');
  await step(() =>
    runStep(process.execPath, [path.join(repoRoot, 'scripts', 'check-deps.mjs')], opts).finally(killGroup),
  );
  log('format and lint (biome check)');
  await step(() => runStep(bin('biome'), ['check', '.'], opts).finally(killGroup));
  log('line length (scripts/check-line-length.mjs)');
  await step(() =>
    runStep(process.execPath, [path.join(repoRoot, 'scripts', 'check-line-length.mjs')], opts).finally(killGroup),
  );
  log(`vitest run ${vitestArgs.join(' ')}`.trim());
  // A JSON report beside the usual output, so the run ends with one plain "N passed, N failed" line.
  const report = path.join(tempDir.path, 'vitest-report.json');
  const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  const res = await step(() =>
    run(bin('vitest'), ['run', ...reporters, ...vitestArgs], { ...opts, cwd: repoRoot, inherit: true }).finally(
      killGroup,
    ),
  );
  printSummary(report);
  log('secrets in captured logs (scripts/check-secrets.mjs)');
  const scan = await step(() =>
    run(process.execPath, [path.join(repoRoot, 'scripts', 'check-secrets.mjs'), logDir], {
      ...opts,
      inherit: true,
    }).finally(killGroup),
  );
  return res.code || scan.code;
}

/** True when the run includes tests/browser: a whole-suite run, or one naming a browser test file or folder. */
function runsBrowserTests(args) {
  const files = args.filter((a) => !a.startsWith('-'));
  return files.length === 0 || files.some((f) => /(^|\/)tests(\/browser)?\/?$|browser/.test(f));
}

/** `tests: N passed, N failed` from vitest's JSON report (nothing when the report is missing). */
function printSummary(file) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    process.stdout.write(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed\n`);
  } catch {
    /* vitest did not get as far as writing its report; its own output says why */
  }
}

/** SIGKILLs what is left of the current step's process group (a no-op when it is gone). */
function killGroup(signal = 'SIGKILL') {
  if (!current?.pid) return;
  try {
    process.kill(-current.pid, signal);
  } catch {
    /* group already gone */
  }
}

/** testcontainers strategies, loaded only after npm install; `available()` answers within ms when no engine runs. */
async function testcontainersStrategies() {
  let available;
  const check = () =>
    (available ??= (async () => {
      try {
        const { getContainerRuntimeClient } = await import('testcontainers');
        await settleWithin(getContainerRuntimeClient(), 5000, () => {
          throw new Error('timeout');
        });
        return true;
      } catch {
        return false;
      }
    })());
  return {
    postgres: {
      available: check,
      start: async () => {
        const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
        const container = await new PostgreSqlContainer('postgres:15')
          .withUsername('postgres')
          .withPassword(randomBytes(16).toString('hex'))
          .withDatabase('postgres')
          .withCommand([
            'postgres',
            '-c',
            'fsync=off',
            '-c',
            'synchronous_commit=off',
            '-c',
            'full_page_writes=off',
            '-c',
            'max_connections=200',
          ])
          .start();
        return {
          url: container.getConnectionUri(),
          stop: async () => {
            await container.stop();
          },
        };
      },
    },
    redis: {
      available: check,
      start: async () => {
        const { RedisContainer } = await import('@testcontainers/redis');
        const container = await new RedisContainer('redis:7').start();
        return {
          url: container.getConnectionUrl(),
          stop: async () => {
            await container.stop();
          },
        };
      },
    },
  };
}
