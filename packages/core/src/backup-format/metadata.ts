import { z } from 'zod';
import { AppError } from '../errors.js';
import { invalidBackup } from '../restore/problems.js';
import { BACKUP_TABLES, FORMAT_VERSION, READABLE_FORMATS } from './tables.js';

const countKeys = Object.fromEntries(BACKUP_TABLES.map((t) => [t.key, z.number().int().min(0).optional()]));

/** The `app` of files this product writes; a hand-written file may leave it out, but may not name another. */
export const BACKUP_APP = 'millennium-potters';

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** An ISO-8601 date and time with a zone, whose every field exists (no 30 February, no hour 25). */
export function isIsoTimestamp(value: string): boolean {
  const m = ISO_TIMESTAMP.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second = 0, offH = 0, offM = 0] = m
    .slice(1)
    .map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  return (
    year! >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    hour! <= 23 &&
    minute! <= 59 &&
    second <= 59 &&
    offH <= 23 &&
    offM <= 59
  );
}

/** Keys that name JavaScript's object machinery: never metadata, whoever wrote the file. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export const metadataSchema = z.object({
  version: z.string(),
  timestamp: z.string().refine(isIsoTimestamp, 'not an ISO-8601 date and time with a time zone').optional(),
  app: z
    .literal(BACKUP_APP, { error: `names another product; this service restores only files of ${BACKUP_APP}` })
    .optional(),
  schemaVersion: z.string().nullable().optional(),
  options: z
    .object({ includeAuditLogs: z.boolean().optional(), includeSessions: z.boolean().optional() })
    .partial()
    .optional(),
  recordCounts: z.object(countKeys).partial().optional(),
});
export type BackupMetadata = z.output<typeof metadataSchema>;

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Checks a file's metadata. `version` is kept as the file says: the metadata of every readable
 * format has the same shape, and the rows' meaning depends on it (see `tagsJsonValues`).
 * @throws AppError INVALID_BACKUP_FILE when it is not metadata at all,
 *   UNSUPPORTED_BACKUP_VERSION when it comes from a newer (or unknown) format.
 */
export function readMetadata(raw: unknown): BackupMetadata {
  const odd = raw && typeof raw === 'object' ? Object.keys(raw).filter((k) => PROTOTYPE_KEYS.has(k)) : [];
  if (odd.length > 0)
    throw invalidBackup(
      odd.map((k) => ({
        field: `metadata.${k}`,
        problem: "not a metadata field (a key that names JavaScript's object machinery)",
      })),
    );
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    throw invalidBackup(
      parsed.error.issues.map((i) => ({ field: ['metadata', ...i.path].join('.'), problem: i.message })),
    );
  }
  const meta = parsed.data;
  if (!/^\d+(\.\d+)*$/.test(meta.version)) {
    throw new AppError('UNSUPPORTED_BACKUP_VERSION', `Unknown backup format version "${meta.version}"`);
  }
  if (compareVersions(meta.version, FORMAT_VERSION) > 0) {
    throw new AppError(
      'UNSUPPORTED_BACKUP_VERSION',
      `This backup was written in format ${meta.version}, newer than this service understands (${FORMAT_VERSION}); ` +
        `upgrade the service to restore it`,
    );
  }
  // "1.00" is 1.0: compare by number, then keep the canonical spelling.
  const known = READABLE_FORMATS.find((v) => compareVersions(v, meta.version) === 0);
  if (!known) throw new AppError('UNSUPPORTED_BACKUP_VERSION', `Backup format ${meta.version} is not supported`);
  return { ...meta, version: known };
}
