// A Redis server of our own in a folder, started on loopback. Pure Node + redis-server.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redisPing } from './net.mjs';
import { isPidAlive, killAndWait, processCommandLine, runOrThrow, waitFor, which } from './proc.mjs';

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * Path of `redis-server`, installing Debian's package first when it is missing
 * (`apt-get update && apt-get install -y --no-install-recommends redis-server`, as root).
 * While installing, a temporary /usr/sbin/policy-rc.d that exits 101 keeps the package from starting a
 * system Redis on 6379; an existing policy-rc.d is left alone.
 */
export async function ensureRedisServerInstalled({ log = () => {} } = {}) {
  const found = which('redis-server') ?? which('/usr/bin/redis-server');
  if (found) return found;
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    throw new Error(
      'redis-server is not installed and cannot be installed automatically (needs root and apt-get). ' +
        'Install Redis 7, start Docker, or set REDIS_URL.',
    );
  }
  log('redis-server missing: installing Debian package redis-server (apt-get)');
  const addedPolicy = !existsSync(POLICY_RC_D);
  if (addedPolicy) writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runOrThrow('apt-get', ['update'], { env, timeoutMs: 300_000 });
    await runOrThrow('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      env,
      timeoutMs: 300_000,
    });
  } finally {
    if (addedPolicy) rmSync(POLICY_RC_D, { force: true });
  }
  const installed = which('redis-server');
  if (!installed) throw new Error('apt-get installed redis-server but it is not on PATH');
  return installed;
}

const pidFile = (dir) => path.join(dir, 'redis.pid');
const portFile = (dir) => path.join(dir, 'redis.port');

/** Pid and port of the redis-server started on `dir` by {@link startLocalRedis}, or null when it is not running. */
export function readRunningRedis(dir) {
  let pid;
  try {
    pid = Number(readFileSync(pidFile(dir), 'utf8').trim());
  } catch {
    return null;
  }
  if (!isPidAlive(pid) || !processCommandLine(pid).includes('redis-server')) return null;
  let port;
  try {
    port = Number(readFileSync(portFile(dir), 'utf8').trim());
  } catch {
    port = NaN;
  }
  return { pid, port };
}

/**
 * Starts redis-server daemonized on 127.0.0.1:`port` with its files (pid file, log, AOF) in `dir`.
 *
 * - `persistent: true` (npm start): `appendonly yes`, `maxmemory-policy noeviction`; a server already running
 *   on `dir` (left by a killed start) is adopted with its port (`adopted: true`).
 * - `persistent: false` (tests): no AOF, no snapshots.
 *
 * Resolves `{ url, port, dir, adopted }` once it answers PING. Stop it with {@link stopLocalRedis}.
 */
export async function startLocalRedis({ dir, port, persistent = false, log = () => {} }) {
  dir = path.resolve(dir);
  mkdirSync(dir, { recursive: true });
  const running = readRunningRedis(dir);
  if (running && Number.isInteger(running.port) && (await redisPing({ port: running.port }))) {
    log(`Redis already running on ${dir} (pid ${running.pid}, port ${running.port}); reusing it`);
    return { url: `redis://127.0.0.1:${running.port}`, port: running.port, dir, adopted: true };
  }
  if (!port) throw new Error('startLocalRedis: port is required');
  const exe = await ensureRedisServerInstalled({ log });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--daemonize',
    'yes',
    '--dir',
    dir,
    '--pidfile',
    pidFile(dir),
    '--logfile',
    path.join(dir, 'redis.log'),
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--appendonly',
    persistent ? 'yes' : 'no',
  ];
  writeFileSync(portFile(dir), `${port}\n`);
  await runOrThrow(exe, args, { timeoutMs: 15_000, detached: true });
  await waitFor(() => redisPing({ port }), {
    timeoutMs: 15_000,
    intervalMs: 50,
    message: `redis-server on port ${port} did not answer PING (see ${path.join(dir, 'redis.log')})`,
  });
  log(`Redis started on 127.0.0.1:${port} (data ${dir})`);
  return { url: `redis://127.0.0.1:${port}`, port, dir, adopted: false };
}

/**
 * Stops the redis-server started on `dir`, found by its pid file (never by process name); waits until it exits
 * (with AOF on, SIGTERM makes it flush first). A folder with no running server is a no-op.
 */
export async function stopLocalRedis({ dir, log = () => {} }) {
  dir = path.resolve(dir);
  const running = readRunningRedis(dir);
  if (!running) return;
  await killAndWait(running.pid, { signal: 'SIGTERM', timeoutMs: 15_000 });
  log(`Redis stopped (data ${dir})`);
}
