import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { createLocalStorage } from './local-storage.js';
import type { BackupStorage } from './storage.js';

let root: string;
let dir: string;
let storage: ReturnType<typeof createLocalStorage>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'local-storage-'));
  dir = join(root, 'backups');
  storage = createLocalStorage({ dir });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const text = (s: string): Readable => Readable.from([Buffer.from(s)]);
async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A body that yields some bytes, then fails like a broken export would. */
function failingBody(): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from('partial data');
      throw new Error('export crashed');
    })(),
  );
}

describe('createLocalStorage', () => {
  it('puts, stats, opens, lists and deletes a file', async () => {
    const stored = await storage.put('backup-1.json', text('{"a":1}'));
    expect(stored).toEqual({
      key: 'backup-1.json',
      size: 7,
      location: { kind: 'local', path: join(dir, 'backup-1.json') },
    });
    expect(await readFile(join(dir, 'backup-1.json'), 'utf8')).toBe('{"a":1}');
    expect((await storage.stat('backup-1.json')).size).toBe(7);
    expect(await readAll(await storage.open('backup-1.json'))).toBe('{"a":1}');

    await storage.put('backup-2.json.gz', text('xx'));
    await storage.put('other.txt', text('y'));
    expect((await storage.list()).map((o) => o.key)).toEqual(['backup-1.json', 'backup-2.json.gz', 'other.txt']);
    expect((await storage.list('backup-')).map((o) => [o.key, o.size])).toEqual([
      ['backup-1.json', 7],
      ['backup-2.json.gz', 2],
    ]);

    expect(await storage.delete('backup-1.json')).toEqual({ deleted: true, notFound: false });
    expect(await storage.delete('backup-1.json')).toEqual({ deleted: false, notFound: true });
    expect((await storage.list()).map((o) => o.key)).toEqual(['backup-2.json.gz', 'other.txt']);
  });

  it('replaces an existing key only once the new body is complete', async () => {
    await storage.put('b.json', text('old'));
    await expect(storage.put('b.json', failingBody())).rejects.toThrow('export crashed');
    expect(await readFile(join(dir, 'b.json'), 'utf8')).toBe('old');
    await storage.put('b.json', text('new'));
    expect(await readFile(join(dir, 'b.json'), 'utf8')).toBe('new');
  });

  it('removes the temporary file when the body fails', async () => {
    await expect(storage.put('broken.json', failingBody())).rejects.toThrow('export crashed');
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the temporary file when the body is destroyed mid-way', async () => {
    // Destroyed when asked for more after its first bytes, i.e. while the temporary file is open and written.
    let reads = 0;
    const body = new Readable({
      read() {
        if (reads++ === 0) this.push(Buffer.alloc(1024, 1));
        else this.destroy(new Error('client went away'));
      },
    });
    await expect(storage.put('aborted.json', body)).rejects.toThrow('client went away');
    expect(await readdir(dir)).toEqual([]);
  });

  it('lists nothing for a folder that does not exist yet, and ignores temporary files', async () => {
    expect(await storage.list()).toEqual([]);
    await storage.put('a.json', text('a'));
    await writeFile(join(dir, 'a.json.tmp-123456'), 'half');
    expect((await storage.list()).map((o) => o.key)).toEqual(['a.json']);
  });

  it('reports a missing file as STORAGE_NOT_FOUND', async () => {
    await expect(storage.open('missing.json')).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
    await expect(storage.stat('missing.json')).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
  });

  const badKeys = [
    '../escape.json',
    '..',
    '.',
    '/etc/passwd',
    'a/b.json',
    'a\\b.json',
    '.hidden',
    '',
    'x.json.tmp-abc',
    'a..b',
    'nul\0.json',
    '-rf',
  ];
  it.each(badKeys)('rejects the key %j in every method', async (key) => {
    await writeFile(join(root, 'escape.json'), 'outside');
    const calls: Array<(s: BackupStorage) => Promise<unknown>> = [
      (s) => s.put(key, text('x')),
      (s) => s.open(key),
      (s) => s.delete(key),
      (s) => s.stat!(key),
    ];
    for (const call of calls) {
      const err = await call(storage).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: 'STORAGE_INVALID_KEY' });
    }
    expect(await readFile(join(root, 'escape.json'), 'utf8')).toBe('outside');
    const body = text('x');
    await expect(storage.put(key, body)).rejects.toThrow(StorageError);
    expect(body.destroyed).toBe(true);
  });

  it('rejects a list prefix that is not a flat name', async () => {
    await expect(storage.list('../')).rejects.toMatchObject({ code: 'STORAGE_INVALID_KEY' });
  });
});

describe('removeTemporaries', () => {
  it('deletes what an interrupted put of that key left, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mp-tmp-'));
    try {
      const storage = createLocalStorage({ dir });
      await writeFile(join(dir, 'a.json.tmp-123abc'), 'partial');
      await writeFile(join(dir, 'a.json'), 'done');
      await writeFile(join(dir, 'b.json.tmp-456def'), 'other key');
      expect(await storage.removeTemporaries('a.json')).toBe(1);
      expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.json.tmp-456def']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
