import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { createLocalStorage } from './local-storage.js';
import { describeWriteError } from './local-write-errors.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'local-write-errors-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const body = () => Readable.from([Buffer.from('{"a":1}')]);
const errno = (code: string) => Object.assign(new Error(`${code}: raw system message`), { code });

describe('local storage write failures', () => {
  // Root ignores permission bits, so an unwritable folder is made with a file where a folder should be.
  it('says in words when part of the backup folder path is a file', async () => {
    await writeFile(join(root, 'file'), 'x');
    const dir = join(root, 'file', 'backups');
    const err = await createLocalStorage({ dir })
      .put('b.json', body())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'STORAGE_UNWRITABLE', retryable: false });
    expect((err as Error).message).toBe(
      `The backup folder (${dir}) cannot be used: part of its path is a file, not a folder`,
    );
  });

  it('says in words when the backup folder is a file', async () => {
    const dir = join(root, 'backups');
    await writeFile(dir, 'x');
    const err = await createLocalStorage({ dir })
      .put('b.json', body())
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(`The backup folder (${dir}) cannot be used: a file of that name is in the way`);
    expect(await readdir(root)).toEqual(['backups']);
  });

  it('names disk full, read-only and permission failures, and passes other errors on unchanged', () => {
    expect((describeWriteError(errno('ENOSPC'), '/srv/b', 'file') as Error).message).toMatch(
      /^No space left on the backup disk \(\/srv\/b\)/,
    );
    expect((describeWriteError(errno('EROFS'), '/srv/b', 'file') as Error).message).toMatch(/read-only file system/);
    expect((describeWriteError(errno('EACCES'), '/srv/b', 'folder') as Error).message).toMatch(
      /^No permission to write/,
    );
    const other = errno('EMFILE');
    expect(describeWriteError(other, '/srv/b', 'file')).toBe(other);
    const exclusive = errno('EEXIST');
    expect(describeWriteError(exclusive, '/srv/b', 'file')).toBe(exclusive);
  });
});
