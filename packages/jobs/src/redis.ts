import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisConnection = Redis | Cluster;

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
    // A node that restarts or fails over moves its slots: follow the cluster instead of giving up.
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}
