import { AppError } from '../errors.js';
import { readMetadata } from '../backup-format/metadata.js';

/**
 * Quick checks of a backup document sent in a request body, before it is written for the worker:
 * an object with `metadata` (a known format version) and a `data` object. The worker validates the rest.
 * @throws AppError INVALID_BACKUP_FILE, UNSUPPORTED_BACKUP_VERSION
 */
export function checkBackupDocument(doc: unknown): void {
  const d = doc as { metadata?: unknown; data?: unknown } | null;
  const problems: string[] = [];
  if (!d || typeof d !== 'object' || Array.isArray(d))
    problems.push('backupData must be an object with metadata and data');
  else {
    if (!d.metadata || typeof d.metadata !== 'object' || Array.isArray(d.metadata))
      problems.push('metadata must be an object');
    if (!d.data || typeof d.data !== 'object' || Array.isArray(d.data))
      problems.push('data must be an object of tables');
  }
  if (problems.length > 0) throw new AppError('INVALID_BACKUP_FILE', 'The backup document is malformed', { problems });
  readMetadata((d as { metadata: unknown }).metadata);
}
