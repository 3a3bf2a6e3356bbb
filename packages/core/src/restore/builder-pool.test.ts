import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { BuilderPool } from './builder-pool.js';

// The pool only hands its connections to the tasks; these stand-ins tell them apart.
const connections = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i }) as unknown as pg.PoolClient);
const idOf = (c: pg.PoolClient) => (c as unknown as { id: number }).id;
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('BuilderPool', () => {
  it('runs tasks side by side, one per connection, in the order queued', async () => {
    const pool = new BuilderPool(connections(2));
    const log: string[] = [];
    let running = 0;
    let most = 0;
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      pool.push(async (c) => {
        running++;
        most = Math.max(most, running);
        log.push(`${name}@${idOf(c)}`);
        await tick();
        running--;
      });
    }
    await pool.close();
    expect(most).toBe(2);
    expect(log.map((l) => l[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(new Set(log.map((l) => l.slice(2)))).toEqual(new Set(['0', '1']));
  });

  it('waits, after close, for tasks that queue more tasks, and survives a task that throws', async () => {
    const pool = new BuilderPool(connections(2));
    const done: string[] = [];
    pool.push(async () => {
      await tick();
      pool.push(async () => {
        await tick();
        pool.push(async () => {
          done.push('grandchild');
        });
        done.push('child');
      });
      throw new Error('reported by the task itself');
    });
    const closed = pool.close();
    await closed;
    expect(done).toEqual(['child', 'grandchild']);
    // Closing twice is the same end.
    await expect(pool.close()).resolves.toBeUndefined();
  });

  it('keeps its connections waiting for work until it is closed', async () => {
    const pool = new BuilderPool(connections(1));
    let ended = false;
    const closed = pool.close().then(() => (ended = true));
    await closed;
    expect(ended).toBe(true);
    const open = new BuilderPool(connections(1));
    let late = false;
    await tick();
    open.push(async () => {
      late = true;
    });
    await open.close();
    expect(late).toBe(true);
  });

  it('hands the outcome of a step to its caller through run', async () => {
    const pool = new BuilderPool(connections(1));
    await expect(pool.run(async (c) => idOf(c) + 41)).resolves.toBe(41);
    await expect(pool.run(async () => Promise.reject(new Error('the step failed')))).rejects.toThrow('the step failed');
    await pool.close();
  });

  it('does not end, once closed, while held work is between two steps with nothing queued', async () => {
    const pool = new BuilderPool(connections(2));
    const done: string[] = [];
    const work = pool.hold(async () => {
      await pool.run(async () => {
        done.push('first');
      });
      // Nothing queued, nothing running: only the hold keeps the closed pool alive here.
      await tick();
      await pool.run(async () => {
        done.push('second');
      });
      return 'held';
    });
    await pool.close();
    expect(done).toEqual(['first', 'second']);
    await expect(work).resolves.toBe('held');
  });
});
