import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, resolve, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError } from './errors.js';
import { describeWriteError } from './local-write-errors.js';
import { TEMP_INFIX, assertValidKey, assertValidPrefix } from './keys.js';
import type { BackupStorage, StoredObject, StoredObjectInfo } from './storage.js';

export interface LocalStorageOptions {
  /** Folder holding the files; created on first write. */
  dir: string;
}

/**
 * Backup storage in one flat folder. `put` writes `<key>.tmp-<random>` and renames it onto `<key>`
 * only after the body ended without error, so a reader never sees a half-written file; the temporary
 * file is removed when the body fails or is destroyed. Keys are validated before any path is built,
 * so nothing outside `dir` can be read, written or deleted. `list` ignores temporary files.
 */
export function createLocalStorage(
  opts: LocalStorageOptions,
): BackupStorage & Required<Pick<BackupStorage, 'stat' | 'removeTemporaries'>> {
  const dir = resolve(opts.dir);
  const pathOf = (key: string): string => {
    assertValidKey(key);
    return join(dir, key);
  };

  return {
    kind: 'local',

    async put(key, body): Promise<StoredObject> {
      let path: string;
      try {
        path = pathOf(key);
        await mkdir(dir, { recursive: true }).catch((err: unknown) =>
          Promise.reject(describeWriteError(err, dir, 'folder')),
        );
      } catch (err) {
        body.destroy();
        throw err;
      }
      const tmp = `${path}${TEMP_INFIX}${randomBytes(6).toString('hex')}`;
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await writeTemporary(tmp, body, counter);
      } catch (err) {
        throw describeWriteError(err, dir, 'file');
      }
      try {
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw describeWriteError(err, dir, 'file');
      }
      return { key, size, location: { kind: 'local', path } };
    },

    async open(key): Promise<Readable> {
      const path = pathOf(key);
      // Opening first turns a missing file into a typed error now, not an 'error' event later.
      const handle = await open(path, 'r').catch((err: unknown) => rethrowMissing(err, key));
      return handle.createReadStream();
    },

    async stat(key): Promise<StoredObjectInfo> {
      const st = await stat(pathOf(key)).catch((err: unknown) => rethrowMissing(err, key));
      if (!st.isFile()) throw notFound(key);
      return { key, size: st.size, modifiedAt: st.mtime };
    },

    async removeTemporaries(key) {
      const name = basename(pathOf(key));
      const entries = await readdir(dir).catch((err: unknown) => (isMissing(err) ? [] : Promise.reject(err)));
      const stale = entries.filter((e) => e.startsWith(`${name}${TEMP_INFIX}`));
      await Promise.all(stale.map((e) => rm(join(dir, e), { force: true })));
      return stale.length;
    },

    async delete(key) {
      try {
        await unlink(pathOf(key));
        return { deleted: true, notFound: false };
      } catch (err) {
        if (isMissing(err)) return { deleted: false, notFound: true };
        throw err;
      }
    },

    async list(prefix = '') {
      assertValidPrefix(prefix);
      const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
        if (isMissing(err)) return [];
        throw err;
      });
      const names = entries
        .filter((e) => e.isFile() && e.name.startsWith(prefix) && !e.name.includes(TEMP_INFIX))
        .map((e) => e.name)
        .sort();
      const infos: StoredObjectInfo[] = [];
      for (const name of names) {
        // A file deleted between readdir and stat is simply not listed.
        const st = await stat(join(dir, name)).catch(() => null);
        if (st) infos.push({ key: name, size: st.size, modifiedAt: st.mtime });
      }
      return infos;
    },
  };
}

/**
 * Writes `body` through `transform` into a new file `tmp` (created exclusively), or removes it.
 * The file is opened before any byte flows and removed only once its stream has closed: a write
 * stream that opens its own file does so later on the thread pool, so a removal right after a failed
 * pipeline could run before the file exists and the delayed open would then leave it behind.
 * On failure `body` is destroyed and nothing is left at `tmp`.
 */
export async function writeTemporary(tmp: string, body: Readable, transform: Transform): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx');
  } catch (err) {
    body.destroy();
    throw err;
  }
  const out = handle.createWriteStream();
  try {
    await pipeline(body, transform, out);
  } catch (err) {
    // pipeline() settles as soon as one stream fails, before `out` has closed its file.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await rm(tmp, { force: true });
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(key: string): StorageError {
  return new StorageError('STORAGE_NOT_FOUND', `Backup file ${key} not found in local storage`, 404);
}

function rethrowMissing(err: unknown, key: string): never {
  throw isMissing(err) ? notFound(key) : err;
}
