import type { BackupStorage, StoredObject } from './storage.js';

/**
 * Streams object `key` from one storage into another (e.g. local → cloud for `location: both`)
 * without holding it in memory, and returns where the new copy lives. The source is left as it is.
 */
export async function copyObject(from: BackupStorage, to: BackupStorage, key: string): Promise<StoredObject> {
  const size = from.stat ? (await from.stat(key)).size : undefined;
  const body = await from.open(key);
  try {
    return await to.put(key, body, size === undefined ? undefined : { size });
  } finally {
    body.destroy();
  }
}
