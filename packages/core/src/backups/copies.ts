import type { Prisma } from '@mp/db';
import { isStorageError } from '@mp/storage';
import type { CoreDeps } from '../deps.js';
import { errorSummary } from '../error-summary.js';
import { readRecordStorage } from './record-storage.js';

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
export function copiesOf(record: { storage: unknown }): StoredCopy[] {
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

/** A reason safe to store and show: storage errors carry no secret by contract; file-system ones only their code. */
function reasonOf(err: unknown): string {
  if (isStorageError(err)) return err.message;
  return `file system error ${(err as NodeJS.ErrnoException).code ?? ''}`.trim();
}

/**
 * Deletes every stored copy of a backup. A copy already gone counts as deleted, and so does one whose
 * key is invalid (it cannot name anything inside the storage). Never throws for a storage failure:
 * it reports which copies went and, when some did not, why (for the record's `error`).
 */
export async function deleteCopies(
  deps: Pick<CoreDeps, 'storage' | 'logger'>,
  record: { id: string; storage: Prisma.JsonValue },
): Promise<{ removed: CopyLocation[]; error: string | null }> {
  const removed: CopyLocation[] = [];
  const errors: string[] = [];
  for (const copy of copiesOf(record)) {
    const storage = deps.storage[copy.location];
    if (!storage) {
      errors.push(`${copy.location} copy ${copy.key}: ${copy.location} storage is not configured`);
      continue;
    }
    try {
      const result = await storage.delete(copy.key);
      if (result.notFound)
        deps.logger.debug({ backupId: record.id, key: copy.key, location: copy.location }, 'copy already gone');
      removed.push(copy.location);
    } catch (err) {
      if (isStorageError(err) && err.code === 'STORAGE_INVALID_KEY') {
        removed.push(copy.location);
        continue;
      }
      errors.push(`${copy.location} copy ${copy.key}: ${reasonOf(err)}`);
      deps.logger.warn(
        { backupId: record.id, location: copy.location, err: errorSummary(err) },
        'deleting a backup copy failed',
      );
    }
  }
  return { removed, error: errors.length > 0 ? errors.join('; ') : null };
}
