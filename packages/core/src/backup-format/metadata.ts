import { z } from 'zod';
import { AppError } from '../errors.js';
import { BACKUP_TABLES, FORMAT_VERSION } from './tables.js';

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

/**
 * Upgrades metadata (and, later, rows) written by older versions of this product. Empty while 1.0
 * is the only format ever written; a new format adds its predecessor here.
 */
const FORMAT_MIGRATIONS: Record<string, (m: BackupMetadata) => BackupMetadata> = {};

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
 * Checks a file's metadata and brings it to the current format.
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
  let meta = parsed.data;
  if (!/^\d+(\.\d+)*$/.test(meta.version)) {
    throw new AppError('UNSUPPORTED_BACKUP_VERSION', `Unknown backup format version "${meta.version}"`);
  }
  if (compareVersions(meta.version, FORMAT_VERSION) > 0) {
    throw new AppError(
      'UNSUPPORTED_BACKUP_VERSION',
      `This backup was written in format ${meta.version}, newer than this service understands (${FORMAT_VERSION}); upgrade the service to restore it`,
    );
  }
  while (meta.version !== FORMAT_VERSION) {
    const migrate = FORMAT_MIGRATIONS[meta.version];
    if (!migrate) {
      throw new AppError('UNSUPPORTED_BACKUP_VERSION', `Backup format ${meta.version} is not supported`);
    }
    meta = migrate(meta);
  }
  return meta;
}
