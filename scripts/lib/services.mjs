// Provisioning of PostgreSQL and Redis for `npm start` and `npm test`: given URL → Docker → local processes.
// Plain .mjs with no npm dependencies: it runs before `npm ci`.
import { findFreePort, isUrlReachable } from './net.mjs';
import { readRunningPostmaster, startLocalPostgres, stopLocalPostgres } from './postgres.mjs';
import { readRunningRedis, startLocalRedis, stopLocalRedis } from './redis.mjs';

export { findFreePort, isPortFree, isReachable, isUrlReachable, parseServiceUrl, redisPing } from './net.mjs';
export { findPostgresBinDir, startLocalPostgres, stopLocalPostgres } from './postgres.mjs';
export { ensureRedisServerInstalled, startLocalRedis, stopLocalRedis } from './redis.mjs';
export { hasDockerEngine } from './docker.mjs';

/**
 * @typedef {{ url: string, source: 'given' | 'docker' | 'local', adopted?: boolean, stop: () => Promise<void> }}
 * ServiceHandle
 * @typedef {{ available: () => Promise<boolean>, start: () => Promise<{ url: string, stop: () => Promise<void> }> }}
 * DockerStrategy
 * @typedef {{ dir: string, port: number, persistent?: boolean }} LocalOptions
 */

/**
 * A PostgreSQL server to use, in this order:
 * 1. `url` when set and reachable (never stopped by us);
 * 2. `docker.start()` when `docker.available()` says an engine answers;
 * 3. a local cluster in `local.dir` on `local.port`, or on a free port when that one is taken by something else.
 * The handle's `url` names the server's `postgres` database as superuser (cases 2, 3) or is `url` as given (case 1);
 * `stop()` stops only what this call started.
 * @param {{ url?: string, docker?: DockerStrategy, local: LocalOptions, log?: (m: string) => void, label?: string }}
 * opts
 * @returns {Promise<ServiceHandle>}
 */
export async function ensurePostgres({ url, docker, local, log = () => {}, label = 'DATABASE_URL' }) {
  const given = await tryGiven(url, label, log);
  if (given) return given;
  if (docker && (await docker.available())) {
    log('Docker engine found: starting PostgreSQL in a container');
    const started = await docker.start();
    return { url: started.url, source: 'docker', stop: started.stop };
  }
  // A cluster already running on the folder (left by a killed start) is adopted with its own port.
  const port = readRunningPostmaster(local.dir)?.port ?? (await pickPort(local.port, log, 'PostgreSQL'));
  const started = await startLocalPostgres({ dir: local.dir, port, persistent: local.persistent, log });
  return {
    url: started.url,
    source: 'local',
    adopted: started.adopted,
    stop: () => stopLocalPostgres({ dir: local.dir, log }),
  };
}

/**
 * A Redis server to use; same order and contract as {@link ensurePostgres}.
 * `local.persistent` turns on AOF (`appendonly yes`); `noeviction` is always set.
 * @param {{ url?: string, docker?: DockerStrategy, local: LocalOptions, log?: (m: string) => void, label?: string }}
 * opts
 * @returns {Promise<ServiceHandle>}
 */
export async function ensureRedis({ url, docker, local, log = () => {}, label = 'REDIS_URL' }) {
  const given = await tryGiven(url, label, log);
  if (given) return given;
  if (docker && (await docker.available())) {
    log('Docker engine found: starting Redis in a container');
    const started = await docker.start();
    return { url: started.url, source: 'docker', stop: started.stop };
  }
  const port = readRunningRedis(local.dir)?.port || (await pickPort(local.port, log, 'Redis'));
  const started = await startLocalRedis({ dir: local.dir, port, persistent: local.persistent, log });
  return {
    url: started.url,
    source: 'local',
    adopted: started.adopted,
    stop: () => stopLocalRedis({ dir: local.dir, log }),
  };
}

async function tryGiven(url, label, log) {
  if (!url) return null;
  if (await isUrlReachable(url)) {
    log(`using ${label} (${redact(url)})`);
    return { url, source: 'given', stop: async () => {} };
  }
  log(`${label} is set but not reachable (${redact(url)}); provisioning one instead`);
  return null;
}

async function pickPort(preferred, log, what) {
  const port = await findFreePort(preferred);
  if (preferred && port !== preferred) log(`port ${preferred} is taken: ${what} will use ${port}`);
  return port;
}

/** The URL with its password replaced by `***`, for logs. */
export function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

/**
 * Stops every handle in reverse order, reporting (not throwing) individual failures,
 * so one stuck service does not leave the others running.
 * @param {ServiceHandle[]} handles
 */
export async function stopAll(handles, log = console.error) {
  for (const h of [...handles].reverse()) {
    try {
      await h.stop();
    } catch (err) {
      log(`failed to stop ${h.source} service: ${err?.message ?? err}`);
    }
  }
}
