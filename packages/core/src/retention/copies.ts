import type { Prisma } from '@mp/db';
import { readRecordStorage } from '../backups/record-storage.js';

export type CopyLocation = 'local' | 'cloud';

/** One stored copy of a backup, as recorded in `BackupRecord.storage`. */
export interface StoredCopy {
  location: CopyLocation;
  key: string;
}

/**
 * The copies listed in a record's `storage` JSON, read like every other caller reads it
 * (`readRecordStorage`): an entry without a storage key counts as no copy.
 */
export function copiesOf(record: { storage: Prisma.JsonValue }): StoredCopy[] {
  const storage = readRecordStorage(record.storage);
  return (['local', 'cloud'] as const).flatMap((location) => {
    const key = storage[location]?.key;
    return key ? [{ location, key }] : [];
  });
}

/** `storage` JSON without the copies in `removed`, for a record whose other copies could not be deleted. */
export function withoutCopies(storage: Prisma.JsonValue, removed: CopyLocation[]): Prisma.InputJsonObject {
  if (typeof storage !== 'object' || storage === null || Array.isArray(storage)) return {};
  return Object.fromEntries(
    Object.entries(storage).filter(([k]) => !removed.includes(k as CopyLocation)),
  ) as Prisma.InputJsonObject;
}
