import type pg from 'pg';

type Task = (client: pg.PoolClient) => Promise<void>;

/**
 * Runs tasks on a fixed set of connections: each task on the first connection free, in the order
 * queued. Tasks may queue more tasks. After {@link close}, the pool ends once the queue is empty and
 * no task runs. Tasks settle their own outcome: a task that throws is not the pool's concern.
 */
export class BuilderPool {
  private readonly queue: Task[] = [];
  private readonly idle: (() => void)[] = [];
  private running = 0;
  private closed = false;
  private readonly ended: Promise<void>;

  constructor(clients: pg.PoolClient[]) {
    this.ended = Promise.all(clients.map((c) => this.loop(c))).then(() => {});
  }

  push(task: Task): void {
    this.queue.push(task);
    this.wake();
  }

  /** No more tasks will come from outside; resolves when every queued task has run. */
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
      if (this.closed && this.running === 0) return;
      await new Promise<void>((resume) => this.idle.push(resume));
    }
  }
}
