// The producer's enqueue around its Redis connection's first attempt: a request made while it is being made
// waits for it (an API answers requests before its connection is ready); one that failed refuses at once.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { QUEUES, createProducer } from '@mp/jobs';

const redisUrl = () => {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests through `npm test`');
  return url;
};

/** A server that takes connections and never answers; `onData` hears the first bytes a client sends. */
async function silentServer(onData?: () => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    if (onData) socket.once('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('producer', () => {
  // A test that stopped the clock and then failed must not leave it stopped for the next.
  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues a job asked for before its first connection is ready', async () => {
    const producer = createProducer({ redisUrl: redisUrl(), prefix: `p${randomBytes(4).toString('hex')}` });
    try {
      const backupId = randomUUID();
      // At once: the connection is still being made.
      await expect(producer.enqueue('backup.create', { backupId }, { jobId: backupId })).resolves.toBe(backupId);
      const job = await producer.queue(QUEUES.backup).getJob(backupId);
      expect(job?.data).toEqual({ backupId });
      await producer.queue(QUEUES.backup).obliterate({ force: true });
    } finally {
      await producer.close();
    }
  });

  it('refuses, without waiting on, a connection whose first attempt failed', async () => {
    // Port 1 refuses: the first attempt ends at once, and every later retry fails the same way. With the clock
    // stopped, the producer's connect-timeout deadline never passes: only the attempt's end can let it answer.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const producer = createProducer({ redisUrl: 'redis://127.0.0.1:1', prefix: 'refused', onError: () => {} });
    try {
      const backupId = randomUUID();
      for (let i = 0; i < 2; i++) {
        await expect(producer.enqueue('backup.create', { backupId }, { jobId: backupId })).rejects.toThrow(
          /Redis is not connected \((connecting|reconnecting|close)\); job backup.create not queued/,
        );
      }
    } finally {
      vi.useRealTimers();
      await producer.close();
    }
  });

  it('refuses after the connect timeout when the server accepts but never answers', async () => {
    // A server that takes the connection and says nothing: the first attempt never ends on its own.
    const silent = await silentServer();
    const producer = createProducer({
      redisUrl: `redis://127.0.0.1:${silent.port}`,
      prefix: 'silent',
      onError: () => {},
    });
    try {
      const backupId = randomUUID();
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('still waiting after 10 s')), 10_000);
      });
      await expect(
        Promise.race([producer.enqueue('backup.create', { backupId }, { jobId: backupId }), hung]),
      ).rejects.toThrow(/Redis is not connected \(\w+\); job backup.create not queued/);
      clearTimeout(timer);
      // The deadline has passed: later requests are refused at once, not after another wait.
      await expect(producer.enqueue('backup.create', { backupId }, { jobId: backupId })).rejects.toThrow(
        /Redis is not connected/,
      );
    } finally {
      await producer.close();
      await silent.close();
    }
  });

  it('waits on a cluster past the plain connect timeout: its first attempt also waits for the slots', async () => {
    // A node that takes the connection and never answers CLUSTER SLOTS. The slots may come up to their own
    // timeout (5 s) after the connection: a create made meanwhile waits for them instead of being refused at 2 s.
    let asked!: () => void;
    const slotsAsked = new Promise<void>((resolve) => (asked = resolve));
    const silent = await silentServer(() => asked());
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const producer = createProducer({
      redisUrl: `redis://127.0.0.1:${silent.port}`,
      cluster: true,
      prefix: '{silent}',
      onError: () => {},
    });
    try {
      const backupId = randomUUID();
      let outcome: unknown = 'waiting';
      const enqueued = producer.enqueue('backup.create', { backupId }, { jobId: backupId }).then(
        () => 'queued',
        (err: Error) => err.message,
      );
      void enqueued.then((o) => (outcome = o));
      // Connected, and the node asked for its slots: only the clock is left to move.
      await slotsAsked;
      await vi.advanceTimersByTimeAsync(3_000);
      expect(outcome).toBe('waiting');
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await enqueued).toMatch(/Redis is not connected \(\w+\); job backup.create not queued/);
    } finally {
      vi.useRealTimers();
      await producer.close();
      await silent.close();
    }
  });

  it('makes a new queue for the next job when one could not start (its connection was closed then)', async () => {
    // BullMQ keeps a Queue's failed start for good: every command of that Queue object fails after. One made while
    // the connection is closed (or while a cluster is between its slots and its ready check) fails that way.
    const producer = createProducer({ redisUrl: redisUrl(), prefix: `q${randomBytes(4).toString('hex')}` });
    try {
      // The producer's one Redis connection, which its queues share.
      const queue = producer.queue(QUEUES.maintenance);
      await queue.waitUntilReady();
      const connection = queue.opts.connection as unknown as Redis;
      connection.disconnect();
      if (connection.status !== 'end') await new Promise((ended) => connection.once('end', ended));
      const failed = producer.queue(QUEUES.backup);
      await expect(failed.waitUntilReady()).rejects.toThrow(/closed|isn't writeable|isn't ready/i);
      await connection.connect();
      const backupId = randomUUID();
      await expect(producer.enqueue('backup.create', { backupId }, { jobId: backupId })).resolves.toBe(backupId);
      expect(producer.queue(QUEUES.backup)).not.toBe(failed);
      expect((await producer.queue(QUEUES.backup).getJob(backupId))?.data).toEqual({ backupId });
      await producer.queue(QUEUES.backup).obliterate({ force: true });
    } finally {
      await producer.close();
    }
  });
});
