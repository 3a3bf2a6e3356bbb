import { z } from 'zod';
import type { StoredLocation } from '@mp/storage';

/** A cloud copy's descriptive fields: text as stored, empty when missing. */
const text = z
  .unknown()
  .optional()
  .transform((v) => String(v ?? ''));

/**
 * Where a backup's copies live, as kept in `BackupRecord.storage`, read defensively: a copy whose shape is
 * unknown counts as "no copy" (a local copy needs `key` and `path`, a cloud copy its `key`).
 */
export const recordStorageSchema = z
  .object({
    local: z.object({ key: z.string(), path: z.string() }).optional().catch(undefined),
    cloud: z.object({ key: z.string(), publicId: text, assetId: text, url: text }).optional().catch(undefined),
  })
  .catch({});
export type RecordStorage = z.output<typeof recordStorageSchema>;

/** Reads `BackupRecord.storage` (JSON) with {@link recordStorageSchema}: never throws. */
export function readRecordStorage(value: unknown): RecordStorage {
  const { local, cloud } = recordStorageSchema.parse(value);
  return { ...(local ? { local } : {}), ...(cloud ? { cloud } : {}) };
}

/**
 * How many copies {@link readRecordStorage} finds in a row's `storage`, as a SQL expression over `backup_records`:
 * for sums over every record, which must not bring each row into the process (health reads the total on every
 * check and scrape).
 */
export const STORED_COPIES_SQL =
  "(CASE WHEN jsonb_typeof(storage #> '{local,key}') = 'string' AND jsonb_typeof(storage #> '{local,path}') = " +
  "'string' THEN 1 ELSE 0 END + CASE WHEN jsonb_typeof(storage #> '{cloud,key}') = 'string' THEN 1 ELSE 0 END)";

export function cloudEntry(key: string, location: StoredLocation): RecordStorage['cloud'] {
  if (location.kind !== 'cloud') throw new Error('expected a cloud location');
  return { key, publicId: location.publicId, assetId: location.assetId, url: location.secureUrl || location.url };
}

/** `BackupRecord.recordCounts` (JSON): rows per backup table key. */
export const recordCountsSchema = z.record(z.string(), z.number());

/** Reads `BackupRecord.recordCounts` with {@link recordCountsSchema}; null when there is none or it is not one. */
export function readRecordCounts(value: unknown): Record<string, number> | null {
  return recordCountsSchema.safeParse(value).data ?? null;
}
