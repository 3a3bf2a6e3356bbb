// A PostgreSQL cluster of our own in a folder, started on loopback. Pure Node + the server's binaries.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { isPidAlive, killAndWait, processCommandLine, run, runOrThrow, which } from './proc.mjs';

const isRoot = () => process.getuid?.() === 0;

/**
 * The folder holding initdb/pg_ctl: Debian's /usr/lib/postgresql/15/bin when present, else the newest
 * /usr/lib/postgresql/<v>/bin, else the folder of `pg_ctl` on PATH. Throws a readable error when none exists.
 */
export function findPostgresBinDir() {
  const base = '/usr/lib/postgresql';
  const preferred = path.join(base, '15', 'bin');
  if (existsSync(path.join(preferred, 'pg_ctl'))) return preferred;
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'pg_ctl')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(base, versions[0], 'bin');
  }
  const pgCtl = which('pg_ctl');
  if (pgCtl) return path.dirname(pgCtl);
  throw new Error(
    'PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH). ' +
      'Install PostgreSQL 15 (apt-get install postgresql-15), start Docker, or set DATABASE_URL.',
  );
}

/** Creates the `postgres` system user when running as root and it does not exist (initdb refuses root). */
export async function ensurePostgresSystemUser() {
  if (!isRoot()) return;
  if ((await run('id', ['-u', 'postgres'])).code === 0) return;
  await runOrThrow('useradd', [
    '--system',
    '--user-group',
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    'postgres',
  ]);
}

/** Runs a PostgreSQL binary as the `postgres` user when we are root, else as ourselves. */
function runPg(binDir, tool, args, opts) {
  const exe = path.join(binDir, tool);
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', exe, ...args], opts) : run(exe, args, opts);
}

async function runPgOrThrow(binDir, tool, args, opts) {
  const res = await runPg(binDir, tool, args, opts);
  if (res.code !== 0)
    throw new Error(`${tool} ${args.join(' ')} failed (${res.code}):\n${`${res.stdout}\n${res.stderr}`.trim()}`);
  return res;
}

/** Pid and port of the postmaster that owns `dir`, or null when none is running (a stale pid file counts as none). */
export function readRunningPostmaster(dir) {
  let lines;
  try {
    lines = readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!isPidAlive(pid) || !/postgres|postmaster/.test(processCommandLine(pid))) return null;
  return { pid, port };
}

/**
 * Starts (initialising when needed) a PostgreSQL cluster in `dir`, listening on 127.0.0.1:`port`
 * with trust authentication for the `postgres` superuser; Unix socket in `dir`.
 *
 * - `persistent: false` (tests): durability off (`fsync`, `synchronous_commit`, `full_page_writes`), 200 connections.
 * - `persistent: true` (npm start): normal durability; when a postmaster already runs on `dir`
 *   (left by a killed start) it is adopted, keeping its port: the result then has `adopted: true`.
 *
 * Resolves `{ url, port, dir, adopted }` once the server accepts connections; `url` points at the `postgres` database.
 * Trap: the caller must stop it with {@link stopLocalPostgres}; the server runs in its own session and outlives us.
 */
export async function startLocalPostgres({
  dir,
  port,
  persistent = false,
  binDir = findPostgresBinDir(),
  log = () => {},
}) {
  dir = path.resolve(dir);
  const running = readRunningPostmaster(dir);
  if (running) {
    log(`PostgreSQL already running on ${dir} (pid ${running.pid}, port ${running.port}); reusing it`);
    return { url: pgUrl(running.port), port: running.port, dir, adopted: true };
  }
  if (!port) throw new Error('startLocalPostgres: port is required');
  await ensurePostgresSystemUser();
  // Parents keep the default mode: the postgres user must be able to traverse them.
  mkdirSync(path.dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isRoot()) await chownToPostgres(dir);
  chmodSync(dir, 0o700);

  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL cluster in ${dir}`);
    const args = ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'];
    if (!persistent) args.push('-N');
    await runPgOrThrow(binDir, 'initdb', args, { timeoutMs: 120_000 });
  }

  const settings = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', quote(dir)];
  if (!persistent) {
    settings.push(
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    );
  }
  // detached: the postmaster must not share our process group, or a terminal Ctrl-C kills it before we stop it in
  // order.
  await runPgOrThrow(
    binDir,
    'pg_ctl',
    ['-D', dir, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', settings.join(' '), 'start'],
    { timeoutMs: 90_000, detached: true },
  );
  log(`PostgreSQL started on 127.0.0.1:${port} (data ${dir})`);
  return { url: pgUrl(port), port, dir, adopted: false };
}

/**
 * Stops the cluster whose data folder is `dir` (fast shutdown: open sessions are ended).
 * Finds the server by its pid file, never by process name; a folder with no running server is a no-op.
 */
export async function stopLocalPostgres({ dir, binDir, log = () => {} }) {
  dir = path.resolve(dir);
  const running = readRunningPostmaster(dir);
  if (!running) return;
  const res = await runPg(
    binDir ?? findPostgresBinDir(),
    'pg_ctl',
    ['-D', dir, '-m', 'fast', '-w', '-t', '30', 'stop'],
    { timeoutMs: 40_000 },
  ).catch((err) => ({ code: 1, stderr: String(err) }));
  if (res.code !== 0 && readRunningPostmaster(dir))
    await killAndWait(running.pid, { signal: 'SIGQUIT', timeoutMs: 10_000 });
  log(`PostgreSQL stopped (data ${dir})`);
}

const pgUrl = (port) => `postgresql://postgres@127.0.0.1:${port}/postgres`;

const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;

async function chownToPostgres(dir) {
  const uid = Number((await runOrThrow('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await runOrThrow('id', ['-g', 'postgres'])).stdout.trim());
  chownSync(dir, uid, gid);
}
