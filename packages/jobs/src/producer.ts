import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { JOBS, QUEUES, RETENTION, type JobName, type JobPayload, type QueueName } from './catalog.js';
import { createRedisConnection, SLOTS_REFRESH_TIMEOUT_MS } from './redis.js';

export interface ProducerOptions {
  redisUrl: string;
  /** `redisUrl` names a node of a Redis Cluster (REDIS_CLUSTER); `prefix` is then hash-tagged. */
  cluster?: boolean;
  prefix: string;
  onError?: (err: Error, queue: QueueName) => void;
}

/** Enqueues catalog jobs. Used by the API (and by the worker for follow-up jobs). */
export interface Producer {
  /**
   * Validates `payload` against the catalog and adds the job. `jobId` makes it idempotent: adding
   * the same id again while the job exists is a no-op. Rejects at once while the Redis connection is
   * not ready (down, or reconnecting after an outage), so callers can answer 503 instead of hanging; only
   * while the first connection is still being made (at most 2 s after start, 7 s on a cluster, whose slots are
   * read too) does it wait for that attempt to end.
   */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts: { jobId: string } & JobsOptions): Promise<string>;
  queue(name: QueueName): Queue;
  /**
   * True when the Redis connection was up and is lost now (down, or reconnecting after an outage); false
   * while it is up, and while the first connection is still being made (callers wait for that one).
   */
  isDisconnected(): boolean;
  close(): Promise<void>;
}

/** The connection's events that end its first attempt to connect. */
const FIRST_ATTEMPT_ENDS = ['ready', 'close', 'end'] as const;
/** How long after start enqueues may wait for the first attempt (a server may accept, then never answer). */
const CONNECT_TIMEOUT_MS = 2_000;
/**
 * The same on a cluster: its first attempt also waits for a node's slots, up to their own timeout. With only
 * {@link CONNECT_TIMEOUT_MS}, a create in the first seconds was refused while the slots were still coming.
 */
const CLUSTER_FIRST_ATTEMPT_MS = CONNECT_TIMEOUT_MS + SLOTS_REFRESH_TIMEOUT_MS;

/** Creates the producer with one Redis connection shared by its queues. */
export function createProducer(options: ProducerOptions): Producer {
  const connection = createRedisConnection(options.redisUrl, {
    cluster: options.cluster,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  connection.on('error', (err) => options.onError?.(err, QUEUES.backup));
  let everReady = false;
  connection.once('ready', () => (everReady = true));
  // Settles when the first connection attempt ends (ready, or closed: refused, timed out, a cluster's slots
  // unreadable), and at the latest its deadline after creation (2 s, 7 s on a cluster): a server may accept and then
  // never answer.
  // (A timer of its own: this base package may not import @mp/storage's settleWithin.)
  const firstAttempt = new Promise<void>((resolve) => {
    const settle = () => {
      clearTimeout(deadline);
      for (const event of FIRST_ATTEMPT_ENDS) connection.off(event, settle);
      resolve();
    };
    const deadline = setTimeout(settle, options.cluster ? CLUSTER_FIRST_ATTEMPT_MS : CONNECT_TIMEOUT_MS).unref();
    for (const event of FIRST_ATTEMPT_ENDS) connection.once(event, settle);
  });
  const queues = new Map<QueueName, Queue>();
  const queue = (name: QueueName): Queue => {
    const cached = queues.get(name);
    if (cached) return cached;
    const made = new Queue(name, { connection: connection as unknown as ConnectionOptions, prefix: options.prefix });
    made.on('error', (err) => options.onError?.(err, name));
    // A Queue whose start failed refuses every command for good: BullMQ keeps its rejected start (a Queue made
    // while the connection was closed, or while a cluster was between reading its slots and its ready check,
    // which BullMQ takes for connected). Forget it, so that the next call makes a Queue that works.
    made.waitUntilReady().catch(() => {
      if (queues.get(name) !== made) return;
      queues.delete(name);
      made.close().catch(() => {});
    });
    queues.set(name, made);
    return made;
  };
  return {
    async enqueue(name, payload, opts) {
      const def = JOBS[name];
      const data = def.payload.parse(payload);
      // A request just after start waits for the first connection (a cluster's takes a few round trips) rather
      // than being refused while it is being made; one that failed, or a connection lost later, refuses at once.
      if (!everReady) await firstAttempt;
      // The offline queue being off makes commands fail fast, but a Queue first used while Redis is down
      // waits for its connection to be ready before any command, which made a restore or reset (the
      // maintenance queue, first used then) hang until the caller's timeout.
      if (connection.status !== 'ready')
        throw new Error(`Redis is not connected (${connection.status}); job ${name} not queued`);
      const job = await queue(def.queue).add(name, data, { ...def.options, ...RETENTION, ...opts });
      return job.id ?? opts.jobId;
    },
    queue,
    isDisconnected: () => everReady && connection.status !== 'ready',
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      connection.disconnect();
    },
  };
}
