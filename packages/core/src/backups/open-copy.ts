import type { Readable } from 'node:stream';
import type { StorageSet } from '../deps.js';
import { AppError } from '../errors.js';
import type { StoredCopy } from './copies.js';

/**
 * Opens one stored copy of a backup for reading, as its bytes were stored. The one place every reader
 * of a stored backup (restore, verify, read-back after write) goes through, so a layer that every
 * stored file needs on the way out (decryption) is added here once.
 * @throws AppError BACKUP_FILE_MISSING when the copy's storage is not configured in this process;
 *   the storage's own errors (`STORAGE_NOT_FOUND`, network) as they come
 */
export async function openCopy(storage: StorageSet, copy: StoredCopy): Promise<Readable> {
  const driver = storage[copy.location];
  if (!driver)
    throw new AppError(
      'BACKUP_FILE_MISSING',
      `The ${copy.location} copy cannot be read: ${copy.location} storage is not configured`,
    );
  return driver.open(copy.key);
}
