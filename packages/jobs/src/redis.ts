import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisConnection = Redis | Cluster;

/**
 * How long a cluster connection waits for a node's CLUSTER SLOTS answer while it connects (ioredis: 1 s). When
 * it waits longer, the attempt fails and the connection closes to try again later; meanwhile it is not ready
 * and the producer refuses jobs. A busy process (an API building its routes at start) or a busy Redis (an AOF
 * write on a loaded disk) can hold the answer past 1 s while both are healthy: the API then refused its first
 * creates with 503 (the redis-cluster end-to-end test, under the full suite). A node that is down still fails
 * at once (connection refused); only a silent one waits this long.
 */
export const SLOTS_REFRESH_TIMEOUT_MS = 5_000;

/**
 * A Redis connection for `url`: one server, or with `cluster` a Redis Cluster that `url` names one node of
 * (the others are discovered from it). The same `options` apply to every node. BullMQ takes either as its
 * connection; on a cluster its prefix must be hash-tagged (`{mp}`), which the config schemas require.
 */
export function createRedisConnection(
  url: string,
  options: RedisOptions & { cluster?: boolean } = {},
): RedisConnection {
  const { cluster, ...redisOptions } = options;
  if (!cluster) return new Redis(url, redisOptions);
  const parsed = new URL(url);
  const auth = {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    redisOptions: { ...redisOptions, ...auth },
    enableOfflineQueue: redisOptions.enableOfflineQueue ?? true,
    slotsRefreshTimeout: SLOTS_REFRESH_TIMEOUT_MS,
    // A node that restarts or fails over moves its slots: follow the cluster instead of giving up.
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}
