import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  findFreePort,
  findPostgresBinDir,
  startLocalPostgres,
  startLocalRedis,
  stopLocalPostgres,
  stopLocalRedis,
} from '../../../scripts/lib/services.mjs';

const run = promisify(execFile);

/** A redis-server of a test's own, on a free loopback port, that the test may stop and start again. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /**
   * Stops the server (found by its pid file) and waits until it exited; its data survives only when `persistent` (AOF,
   * as in production).
   */
  stop(): Promise<void>;
  /** Starts it again on the same port, so clients configured with {@link url} reconnect by themselves. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/**
 * Starts a private Redis (installing Debian's redis-server first when missing, as the test command does);
 * `persistent` turns AOF on, as production runs it, so queued jobs and schedulers survive a restart.
 * Never the suite's shared Redis: stopping this one disturbs no other test.
 * Trap: the port is free when chosen, not reserved; a restart reuses it, which is what reconnecting clients need.
 */
export async function startPrivateRedis(opts: { persistent?: boolean } = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mp-redis-'));
  const port = await findFreePort();
  const persistent = opts.persistent ?? false;
  await startLocalRedis({ dir, port, persistent });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopLocalRedis({ dir }),
    async start() {
      await startLocalRedis({ dir, port, persistent });
    },
    async dispose() {
      await stopLocalRedis({ dir }).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL cluster of a test's own, holding one migrated database, that the test may restart. */
export interface PrivatePostgres {
  /** URL of the migrated database `mp` (superuser, trust authentication on loopback). */
  readonly url: string;
  /** `pg_ctl restart -m fast`: every session is ended, the server is back when this resolves. */
  restart(): Promise<void>;
  /** Stops the cluster and removes its folder. */
  dispose(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL cluster (a few seconds) and copies the suite's migrated, empty template
 * (`DATABASE_URL` under `npm test`) into its database `mp` with pg_dump, which is faster than migrating.
 * Trap: initdb and pg_ctl run as the `postgres` user when we are root; its folder must be reachable by it.
 */
export async function startPrivatePostgres(templateUrl = process.env.DATABASE_URL): Promise<PrivatePostgres> {
  if (!templateUrl) throw new Error('DATABASE_URL is not set: run the tests through `npm test`');
  const root = await mkdtemp(path.join(tmpdir(), 'mp-pg-'));
  await chmod(root, 0o755); // mkdtemp makes it 0700; the postgres user must traverse it
  const dir = path.join(root, 'data');
  const binDir = findPostgresBinDir();
  const port = await findFreePort();
  const server = await startLocalPostgres({ dir, port, binDir });
  const dispose = async () => {
    await stopLocalPostgres({ dir, binDir }).catch(() => {});
    await rm(root, { recursive: true, force: true });
  };
  try {
    const url = server.url.replace(/\/postgres$/, '/mp');
    await run(path.join(binDir, 'psql'), [server.url, '-qAt', '-c', 'CREATE DATABASE mp']);
    const dump = path.join(root, 'template.sql');
    await run(path.join(binDir, 'pg_dump'), ['--no-owner', '--no-privileges', '-f', dump, templateUrl]);
    await run(path.join(binDir, 'psql'), [url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', dump]);
    return {
      url,
      async restart() {
        // -l: without a log file the new postmaster inherits our pipes and execFile never returns.
        const args = ['-D', dir, '-l', path.join(dir, 'server.log'), '-m', 'fast', '-w', '-t', '60', 'restart'];
        // As in scripts/lib/postgres.mjs: initdb and pg_ctl refuse root.
        if (process.getuid?.() === 0)
          await run('runuser', ['-u', 'postgres', '--', path.join(binDir, 'pg_ctl'), ...args]);
        else await run(path.join(binDir, 'pg_ctl'), args);
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A Redis Cluster of a test's own: three masters (no replicas) on free loopback ports, with AOF. */
export interface PrivateRedisCluster {
  /** A node's URL; clients discover the others from it. */
  readonly url: string;
  readonly ports: number[];
  /** The port of the master that holds `key`'s slot (a hash-tagged prefix puts a whole queue there). */
  ownerOf(key: string): Promise<number>;
  /**
   * Kills one master (SIGKILL) and starts it again with its cluster config and AOF; resolves once the cluster is whole.
   */
  restart(port: number): Promise<void>;
  /**
   * Stops one node's process (SIGSTOP): alive, its connections open, answering nothing, as a Redis on a loaded
   * disk can be for a while. Resolves once it is stopped, with what lets it go on (SIGCONT); that resolves once
   * the cluster is whole again (the other masters may have marked the paused one failing meanwhile).
   */
  pause(port: number): Promise<() => Promise<void>>;
  dispose(): Promise<void>;
}

/**
 * Forms a real three-master Redis Cluster from Debian's redis-server and `redis-cli --cluster create`, as
 * production would run one (minus replicas). Every node keeps its data in an append-only file, so a
 * restarted master comes back with its keys and its slots.
 */
export async function startPrivateRedisCluster(): Promise<PrivateRedisCluster> {
  const root = await mkdtemp(path.join(tmpdir(), 'mp-redis-cluster-'));
  const ports = [await findFreePort(), await findFreePort(), await findFreePort()];
  const dirOf = (port: number) => path.join(root, String(port));
  const startNode = async (port: number) => {
    const dir = dirOf(port);
    await run('mkdir', ['-p', dir]);
    await run('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--daemonize',
      'yes',
      '--dir',
      dir,
      '--pidfile',
      path.join(dir, 'redis.pid'),
      '--logfile',
      path.join(dir, 'redis.log'),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '2000',
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ]);
    for (let i = 0; ; i++) {
      const ping = await run('redis-cli', ['-p', String(port), 'ping']).catch(() => ({ stdout: '' }));
      if (ping.stdout.trim() === 'PONG') return;
      if (i > 100) throw new Error(`redis-server on ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const whole = async () => {
    for (let i = 0; ; i++) {
      const states = await Promise.all(
        ports.map((p) =>
          run('redis-cli', ['-p', String(p), 'cluster', 'info']).then(
            (r) => r.stdout,
            () => '',
          ),
        ),
      );
      if (states.every((s) => s.includes('cluster_state:ok'))) return;
      if (i > 200) throw new Error(`the Redis Cluster did not become whole:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** The node's pid from its pid file; 0 when it has none (not running). */
  const pidOf = async (port: number) =>
    Number((await readFile(path.join(dirOf(port), 'redis.pid'), 'utf8').catch(() => '')).trim());
  const stopNode = async (port: number, signal: NodeJS.Signals) => {
    const pid = await pidOf(port);
    if (!pid) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(ports.map(startNode));
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  await whole();
  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    ports,
    async ownerOf(key) {
      const slot = Number((await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'keyslot', key])).stdout.trim());
      const { stdout } = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'slots']);
      // Lines come in groups: start, end, ip, port, id (…): find the range holding the slot.
      const lines = stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      for (let i = 0; i + 3 < lines.length; i++) {
        const start = Number(lines[i]);
        const end = Number(lines[i + 1]);
        if (
          Number.isInteger(start) &&
          Number.isInteger(end) &&
          slot >= start &&
          slot <= end &&
          lines[i + 2] === '127.0.0.1'
        )
          return Number(lines[i + 3]);
      }
      throw new Error(`no master holds slot ${slot}:\n${stdout}`);
    },
    async restart(port) {
      await stopNode(port, 'SIGKILL');
      await startNode(port);
      await whole();
    },
    async pause(port) {
      const pid = await pidOf(port);
      if (!pid) throw new Error(`no redis-server runs on ${port}`);
      process.kill(pid, 'SIGSTOP');
      return async () => {
        process.kill(pid, 'SIGCONT');
        await whole();
      };
    },
    async dispose() {
      await Promise.all(ports.map((p) => stopNode(p, 'SIGTERM')));
      await rm(root, { recursive: true, force: true });
    },
  };
}
