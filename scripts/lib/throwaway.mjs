// Throwaway PostgreSQL + Redis for one run of `npm test` or `npm run bench`: the servers the caller names when
// they answer, else Docker (when the caller brings strategies), else local processes in a temporary folder.
// Plain .mjs with no npm dependencies: it runs before `npm ci`.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePostgres, ensureRedis } from './services.mjs';

/**
 * A temporary folder made on first use of `path` (mode 0755: the postgres user must reach its data folder
 * inside); `remove()` deletes it, a no-op when it was never made.
 * @param {string} prefix
 */
export function lazyTempFolder(prefix) {
  let dir = null;
  return {
    get path() {
      if (!dir) {
        dir = mkdtempSync(path.join(os.tmpdir(), prefix));
        chmodSync(dir, 0o755);
      }
      return dir;
    },
    remove() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * @typedef {import('./services.mjs').ServiceHandle} ServiceHandle
 * @typedef {import('./services.mjs').DockerStrategy} DockerStrategy
 * @typedef {{ url?: string, label: string }} GivenServer
 */

/**
 * PostgreSQL and Redis, provisioned side by side: each is the given server when its URL is set and reachable,
 * else a container (`docker`, when given and an engine answers), else a local process with its data under
 * `folder.path` (`pg/`, `redis/`) on a free port, never persistent. `track` receives each handle as soon as it is
 * up, so what started is stopped even when the other one fails.
 * @param {{ postgres: GivenServer, redis: GivenServer, docker?: { postgres: DockerStrategy, redis: DockerStrategy },
 *   folder: { readonly path: string }, log: (m: string) => void, track: (h: ServiceHandle) => ServiceHandle }} opts
 * @returns {Promise<[ServiceHandle, ServiceHandle]>}
 */
export function ensureThrowawayServices({ postgres, redis, docker, folder, log, track }) {
  const local = (name) => ({
    get dir() {
      return path.join(folder.path, name);
    },
    port: 0,
    persistent: false,
  });
  return Promise.all([
    ensurePostgres({ ...postgres, docker: docker?.postgres, local: local('pg'), log }).then(track),
    ensureRedis({ ...redis, docker: docker?.redis, local: local('redis'), log }).then(track),
  ]);
}
