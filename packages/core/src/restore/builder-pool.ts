import type pg from 'pg';

type Task = (client: pg.PoolClient) => Promise<void>;

/**
 * Runs tasks on a fixed set of connections: each task on the first connection free, in the order
 * queued. Tasks may queue more tasks. After {@link close}, the pool ends once the queue is empty, no
 * task runs and no {@link hold} is pending. Tasks settle their own outcome: a task that throws is
 * not the pool's concern ({@link run} hands the outcome to its caller).
 */
export class BuilderPool {
  private readonly queue: Task[] = [];
  private readonly idle: (() => void)[] = [];
  private running = 0;
  /** Work in several steps that may still queue tasks (see {@link hold}). */
  private pending = 0;
  private closed = false;
  private readonly ended: Promise<void>;

  constructor(clients: pg.PoolClient[]) {
    this.ended = Promise.all(clients.map((c) => this.loop(c))).then(() => {});
  }

  /** Tasks queued and not yet started. */
  get queued(): number {
    return this.queue.length;
  }

  push(task: Task): void {
    this.queue.push(task);
    this.wake();
  }

  /** Queues `step` and settles with its outcome. */
  run<T>(step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.push((client) => step(client).then(resolve, reject)));
  }

  /**
   * Runs `work`, which queues its tasks one step after another (awaiting each), and keeps the pool
   * from ending until it settles. Between two steps the queue can be empty and no task running: a
   * closed pool would end there and the next step would never run. Counted from the call on.
   */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await work();
    } finally {
      this.pending--;
      this.wake();
    }
  }

  /** No more tasks will come from outside; resolves when every queued task and every hold is done. */
  close(): Promise<void> {
    this.closed = true;
    this.wake();
    return this.ended;
  }

  private wake(): void {
    for (const resume of this.idle.splice(0)) resume();
  }

  private async loop(client: pg.PoolClient): Promise<void> {
    for (;;) {
      const task = this.queue.shift();
      if (task) {
        this.running++;
        try {
          await task(client);
        } catch {
          // The task reports its own failure (see the class comment).
        } finally {
          this.running--;
          this.wake();
        }
        continue;
      }
      if (this.closed && this.running === 0 && this.pending === 0) return;
      await new Promise<void>((resume) => this.idle.push(resume));
    }
  }
}
