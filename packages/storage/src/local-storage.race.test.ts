import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// A disk whose open() answers late, the way a busy thread pool makes it: every file open (through
// node:fs or node:fs/promises) is held back a little, and the test can wait until all have landed.
const slow = vi.hoisted(() => {
  const pending = new Set<Promise<unknown>>();
  const late = <T>(start: () => Promise<T>): Promise<T> => {
    const p = new Promise<void>((resolve) => setTimeout(resolve, 15)).then(start);
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => {});
    return p;
  };
  return { late, settled: async () => void (await Promise.allSettled([...pending])) };
});

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  type OpenCallback = (err: NodeJS.ErrnoException | null, fd: number) => void;
  const open = (path: string, flags: string, mode: number, cb: OpenCallback) =>
    void slow
      .late(
        () =>
          new Promise<number>((resolve, reject) =>
            real.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))),
          ),
      )
      .then(
        (fd) => cb(null, fd),
        (err: NodeJS.ErrnoException) => cb(err, -1),
      );
  const createWriteStream: typeof real.createWriteStream = (path, options) =>
    real.createWriteStream(path, {
      ...(typeof options === 'object' ? options : {}),
      fs: { open, write: real.write, writev: real.writev, close: real.close },
    } as Parameters<typeof real.createWriteStream>[1]);
  return { ...real, default: { ...real, createWriteStream }, createWriteStream };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = (...args) => slow.late(() => real.open(...args));
  return { ...real, default: { ...real, open }, open };
});

const { createLocalStorage } = await import('./local-storage.js');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-storage-race-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A body that fails before its first byte, like an export whose query is refused. */
const failsAtOnce = () =>
  new Readable({
    read() {
      this.destroy(new Error('export crashed'));
    },
  });

describe('createLocalStorage put on a slow disk', () => {
  it('leaves no temporary file when the body fails before the file is open', async () => {
    const storage = createLocalStorage({ dir });
    const puts = Array.from({ length: 40 }, (_, i) => storage.put(`b${i}.json`, failsAtOnce()));
    const outcomes = await Promise.allSettled(puts);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    // Every open the puts started has now happened: a late one would have created its file by now.
    await slow.settled();
    expect(await readdir(dir)).toEqual([]);
  });

  it('still writes a whole body', async () => {
    const storage = createLocalStorage({ dir });
    await storage.put('ok.json', Readable.from([Buffer.from('{"a":1}')]));
    await slow.settled();
    expect(await readdir(dir)).toEqual(['ok.json']);
  });
});
