#!/usr/bin/env node
// `npm start`: install, generate, provision PostgreSQL + Redis (given → Docker Compose → local under .data/),
// migrate, seed demo data when empty, create the first admin, build the services (dist/), then run the API and
// the worker until Ctrl-C.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildConsole, buildServices, serviceArgs } from './build.mjs';
import { spawnPrefixed, stopChild } from './lib/children.mjs';
import { composeStop, composeUp, hasDockerCompose, hasDockerEngine } from './lib/docker.mjs';
import { ensureSecret } from './lib/secrets.mjs';
import { createScript } from './lib/main.mjs';
import { ensurePostgres, ensureRedis, isPortFree, redact } from './lib/services.mjs';
import {
  assertMigrationsPresent,
  assertNodeVersion,
  bin,
  ensureDependencies,
  makeLog,
  prismaGenerate,
  repoRoot,
  runStep,
} from './lib/setup.mjs';

const log = makeLog('start');
const env = process.env;
const dataDir = path.join(repoRoot, '.data');
const secretsFile = path.join(dataDir, 'secrets.env');
const APP_DB = 'millennium_potters';

const children = [];

// Ctrl-C is the normal way to stop: exit code 0. The services we started stop in reverse order after the children.
const {
  step,
  track,
  waitForStep,
  finish: shutdown,
  isStopping,
  run,
} = createScript({
  log,
  signalExitCodes: { SIGINT: 0, SIGTERM: 0 },
  beforeStop: async ({ signal }) => {
    if (signal) log(`${signal} received: stopping`);
    await Promise.all(children.map((c) => stopChild(c)));
    await waitForStep(120_000); // the provisioning step in flight, so what it starts is stopped too
  },
});
await run(main, { exitWhenDone: false });

async function main() {
  assertNodeVersion();
  await step(() => ensureDependencies({ log }));
  log('generating the Prisma client');
  await step(() => prismaGenerate({}));
  mkdirSync(dataDir, { recursive: true });

  const jwt = ensureSecret(secretsFile, 'JWT_SECRET', env);
  if (jwt.source === 'generated') log(`generated a JWT secret in ${path.relative(repoRoot, secretsFile)} (0600)`);
  const docker = dockerCompose();

  const pg = await step(() =>
    ensurePostgres({
      url: env.DATABASE_URL,
      docker: docker.strategy('postgres'),
      local: { dir: path.join(dataDir, 'pg'), port: Number(env.PG_PORT || 54329), persistent: true },
      log,
    }).then(track),
  );
  const { createDatabaseIfMissing, isDomainDataEmpty, waitForSql, withDatabase } = await import('./lib/sql.mjs');
  let databaseUrl = pg.url;
  if (pg.source !== 'given') {
    await step(() => waitForSql(pg.url));
    await step(() => createDatabaseIfMissing(pg.url, APP_DB));
    databaseUrl = withDatabase(pg.url, APP_DB);
  }

  const redis = await step(() =>
    ensureRedis({
      url: env.REDIS_URL,
      docker: docker.strategy('redis'),
      local: { dir: path.join(dataDir, 'redis'), port: Number(env.REDIS_PORT || 63799), persistent: true },
      log,
    }).then(track),
  );

  const appEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    JWT_SECRET: jwt.value,
    PORT: env.PORT || '3000',
    BACKUP_DIR: path.resolve(repoRoot, env.BACKUP_DIR || path.join('.data', 'backups')),
    UPLOAD_DIR: path.resolve(repoRoot, env.UPLOAD_DIR || path.join('.data', 'uploads')),
  };
  mkdirSync(appEnv.BACKUP_DIR, { recursive: true });
  mkdirSync(appEnv.UPLOAD_DIR, { recursive: true });

  assertMigrationsPresent();
  // A database with data is backed up first when migrations are pending (`npm start -- --no-backup` skips it).
  log('applying migrations (scripts/migrate.ts: prisma migrate deploy, after a pre-migration backup when needed)');
  await step(() =>
    runTsx('scripts/migrate.ts', process.argv.includes('--no-backup') ? ['--no-backup'] : [], appEnv, 'the migration'),
  );

  if (await isDomainDataEmpty(databaseUrl)) {
    log('database has no demo data: seeding (scale 1)');
    await step(() => runTsx('packages/db/src/seed/cli.ts', ['--scale', '1'], appEnv, 'the seeder'));
  }
  log('ensuring the first admin exists');
  await step(() => runTsx('scripts/bootstrap-admin.ts', [], appEnv, 'the admin bootstrap'));

  for (const entry of ['services/api/src/main.ts', 'services/worker/src/main.ts']) {
    if (!existsSync(path.join(repoRoot, entry))) throw new Error(`${entry} is missing: cannot start the service`);
  }
  if (!(await isPortFree(Number(appEnv.PORT))))
    throw new Error(`port ${appEnv.PORT} is in use: set PORT to another port`);
  log('building the services (dist/)');
  await step(() => buildServices());
  const consoleBuild = await step(() => buildConsole({ onlyIfStale: true }));
  log(consoleBuild.built ? 'built the admin console (dist/console)' : 'the admin console is up to date (dist/console)');
  if (isStopping()) return;
  startChild('api', appEnv);
  startChild('worker', appEnv);
  await announceWhenReady(appEnv.PORT, databaseUrl, redis.url);
}

/** Runs a TypeScript entry with tsx (what `npx tsx file` does, without the npx wrapper). */
function runTsx(file, args, childEnv, what) {
  if (!existsSync(path.join(repoRoot, file)))
    return Promise.reject(new Error(`${file} is missing: cannot run ${what}`));
  return runStep(bin('tsx'), [file, ...args], { env: childEnv });
}

function startChild(name, childEnv) {
  const child = spawnPrefixed(name, process.execPath, serviceArgs(name), {
    cwd: repoRoot,
    env: childEnv,
    onExit: (code, signal) => {
      // A terminal Ctrl-C reaches the children too; give our own SIGINT handler a moment to run first.
      setTimeout(() => {
        if (isStopping()) return;
        log(`${name} exited unexpectedly (${signal ?? `code ${code}`}): stopping everything`);
        void shutdown(code && code > 0 ? code : 1);
      }, 200);
    },
  });
  children.push(child);
}

async function announceWhenReady(port, databaseUrl, redisUrl) {
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!isStopping() && Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  if (isStopping()) return;
  log(
    [
      '',
      `API:      ${base}`,
      `Docs:     ${base}/docs`,
      `Console:  ${base}/admin  (log in with the admin account)`,
      `Queues:   ${base}/admin/queues  (open it from the console)`,
      `Database: ${redact(databaseUrl)}`,
      `Redis:    ${redact(redisUrl)}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

/** Docker Compose for both services: one `up` for postgres + redis, one `stop` at the end. */
function dockerCompose() {
  let available;
  let up;
  const composeEnv = () => {
    const pgPassword = ensureSecret(secretsFile, 'POSTGRES_PASSWORD', env).value;
    return {
      ...env,
      JWT_SECRET: ensureSecret(secretsFile, 'JWT_SECRET', env).value,
      POSTGRES_PASSWORD: pgPassword,
      PG_PORT: env.PG_PORT || '54329',
      REDIS_PORT: env.REDIS_PORT || '63799',
    };
  };
  const ensureUp = () => {
    up ??= (async () => {
      const e = composeEnv();
      await composeUp({ cwd: repoRoot, env: e, services: ['postgres', 'redis'] });
      track({ source: 'docker', stop: () => composeStop({ cwd: repoRoot, env: e, services: ['postgres', 'redis'] }) });
      return e;
    })();
    return up;
  };
  return {
    strategy: (service) => ({
      available: () =>
        (available ??= (async () => {
          if (!(await hasDockerEngine())) return false;
          if (await hasDockerCompose()) return true;
          log('a Docker engine answers but `docker compose` is missing: using local services');
          return false;
        })()),
      start: async () => {
        const e = await ensureUp();
        const url =
          service === 'postgres'
            ? `postgresql://postgres:${encodeURIComponent(e.POSTGRES_PASSWORD)}@127.0.0.1:${e.PG_PORT}/postgres`
            : `redis://127.0.0.1:${e.REDIS_PORT}`;
        return { url, stop: async () => {} }; // the compose handle above stops both
      },
    }),
  };
}
