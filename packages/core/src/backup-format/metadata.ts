import { z } from 'zod';
import { AppError } from '../errors.js';
import { BACKUP_TABLES, FORMAT_VERSION, READABLE_FORMATS } from './tables.js';

const countKeys = Object.fromEntries(BACKUP_TABLES.map((t) => [t.key, z.number().int().min(0).optional()]));

export const metadataSchema = z.object({
  version: z.string(),
  timestamp: z.string().optional(),
  app: z.string().optional(),
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
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AppError('INVALID_BACKUP_FILE', 'The backup metadata is malformed', {
      problems: parsed.error.issues.map((i) => `metadata.${i.path.join('.')}: ${i.message}`),
    });
  }
  const meta = parsed.data;
  if (!/^\d+(\.\d+)*$/.test(meta.version)) {
    throw new AppError('UNSUPPORTED_BACKUP_VERSION', `Unknown backup format version "${meta.version}"`);
  }
  if (compareVersions(meta.version, FORMAT_VERSION) > 0) {
    throw new AppError(
      'UNSUPPORTED_BACKUP_VERSION',
      `This backup was written in format ${meta.version}, newer than this service understands (${FORMAT_VERSION}); upgrade the service to restore it`,
    );
  }
  // "1.00" is 1.0: compare by number, then keep the canonical spelling.
  const known = READABLE_FORMATS.find((v) => compareVersions(v, meta.version) === 0);
  if (!known) throw new AppError('UNSUPPORTED_BACKUP_VERSION', `Backup format ${meta.version} is not supported`);
  return { ...meta, version: known };
}
