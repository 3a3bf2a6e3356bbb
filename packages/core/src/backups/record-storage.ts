import type { StoredLocation } from '@mp/storage';

/** Where a backup's copies live, as kept in `BackupRecord.storage`. */
export interface RecordStorage {
  local?: { key: string; path: string };
  cloud?: { key: string; publicId: string; assetId: string; url: string };
}

/** Reads `BackupRecord.storage` (JSON) defensively: unknown shapes count as "no copy". */
export function readRecordStorage(value: unknown): RecordStorage {
  const out: RecordStorage = {};
  if (!value || typeof value !== 'object') return out;
  const v = value as Record<string, unknown>;
  const local = v.local as Record<string, unknown> | undefined;
  if (local && typeof local.key === 'string' && typeof local.path === 'string') out.local = { key: local.key, path: local.path };
  const cloud = v.cloud as Record<string, unknown> | undefined;
  if (cloud && typeof cloud.key === 'string') {
    out.cloud = {
      key: cloud.key,
      publicId: String(cloud.publicId ?? ''),
      assetId: String(cloud.assetId ?? ''),
      url: String(cloud.url ?? ''),
    };
  }
  return out;
}

export function cloudEntry(key: string, location: StoredLocation): RecordStorage['cloud'] {
  if (location.kind !== 'cloud') throw new Error('expected a cloud location');
  return { key, publicId: location.publicId, assetId: location.assetId, url: location.secureUrl || location.url };
}
