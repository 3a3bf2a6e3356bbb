import { StorageError } from './errors.js';

/** What the operator reads for each errno that means "this folder cannot take the file". */
const UNWRITABLE: Record<string, (dir: string) => string> = {
  ENOSPC: (dir) =>
    `No space left on the backup disk (${dir}); free some space or point BACKUP_DIR elsewhere, then try again`,
  EDQUOT: (dir) =>
    `The disk quota of the backup folder (${dir}) is used up; free some space or raise the quota, then try again`,
  EROFS: (dir) =>
    `The backup folder (${dir}) is on a read-only file system; mount it read-write or point BACKUP_DIR elsewhere`,
  EACCES: (dir) => `No permission to write in the backup folder (${dir}); give the worker's user write access`,
  EPERM: (dir) => `No permission to write in the backup folder (${dir}); give the worker's user write access`,
  ENOTDIR: (dir) => `The backup folder (${dir}) cannot be used: part of its path is a file, not a folder`,
};

const FILE_IN_THE_WAY = (dir: string) => `The backup folder (${dir}) cannot be used: a file of that name is in the way`;

/**
 * A file-system error met while writing into the local backup folder, as a {@link StorageError} a person
 * can act on (`No space left on the backup disk (/srv/backups); …`), not `ENOSPC: no space left on device, write`.
 * Not retryable: repeating the write seconds later meets the same full or read-only disk, so the job fails
 * at once and says why. Any other error is returned unchanged.
 * `step` says what failed: EEXIST means "a file is in the way" only for the folder's own `mkdir`
 * (for an exclusive `wx` open of a temporary file it is a different story, passed on unchanged).
 */
export function describeWriteError(err: unknown, dir: string, step: 'folder' | 'file'): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const message = code === 'EEXIST' && step === 'folder' ? FILE_IN_THE_WAY : code ? UNWRITABLE[code] : undefined;
  return message ? new StorageError('STORAGE_UNWRITABLE', message(dir), undefined, false) : err;
}
