import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';
import { openCopy } from '../backups/open-copy.js';
import { readRecordStorage } from '../backups/record-storage.js';
import { AppError } from '../errors.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import { NO_ENCRYPTION, openPlaintext } from '../crypto/plaintext.js';
import { sha256Of } from '../crypto/sha256.js';

/**
 * What a restore, preview or entity restore reads: a stored backup, or a file the API put in the upload folder.
 * `compressed` is what the API sniffed from an upload (kept in the operation's input for the reader of it); the
 * worker sniffs the format again itself and does not rely on it.
 */
export const restoreSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('backup'), backupId: z.string() }),
  z.object({ kind: z.literal('file'), path: z.string(), compressed: z.boolean().optional() }),
]);
export type RestoreSource = z.output<typeof restoreSourceSchema>;

/** `uploadDir` is needed only to open uploads (verify reads stored backups alone). */
export type SourceDeps = Pick<BackupRunDeps, 'prisma' | 'storage' | 'encryption'> & { uploadDir?: string };

/** The stored bytes of a source, as they are (encrypted or not), and which copy they come from. */
interface StoredBytes {
  stream: Readable;
  size: number | null;
  expectedSha256: string | null;
  copy: 'local' | 'cloud' | 'upload';
}

/** A source opened for reading, with its size and the checksum it must have when one is known. */
export interface OpenedSource extends StoredBytes {
  /** The plaintext (decrypted when the file is encrypted); see `openPlaintext` for its errors. */
  stream: Readable;
  /** The key id of an encrypted file; null for a file in clear. */
  keyId: string | null;
  /** SHA-256 of the stored bytes, complete once `stream` ended: what `expectedSha256` is compared with. */
  storedSha256: () => string;
}

/**
 * Opens the file to restore (or verify) as plaintext: an upload only from the upload folder, a stored
 * backup from its local copy, else its cloud copy when this worker has cloud storage. An encrypted
 * file is decrypted with the key its header names (`openPlaintext`), whatever its origin.
 * @throws AppError BACKUP_FILE_MISSING, BACKUP_NOT_FOUND; UnrecoverableError for a path outside the upload folder
 */
export async function openSource(deps: SourceDeps, source: RestoreSource): Promise<OpenedSource> {
  const raw = await openStoredBytes(deps, source);
  const plain = await openPlaintext(raw.stream, (deps.encryption ?? NO_ENCRYPTION).keyring);
  return { ...raw, stream: plain.stream, keyId: plain.keyId, storedSha256: () => plain.stored().sha256 };
}

/** The stored bytes of `source`, as they are (encrypted or not). */
export async function openStoredBytes(deps: SourceDeps, source: RestoreSource): Promise<StoredBytes> {
  if (source.kind === 'file') {
    // Only files the API put in the upload folder are ever read.
    const resolved = path.resolve(source.path);
    if (!deps.uploadDir || path.dirname(resolved) !== path.resolve(deps.uploadDir)) {
      throw new UnrecoverableError('The uploaded file is outside the upload folder');
    }
    const info = await stat(resolved).catch(() => null);
    if (!info) throw new AppError('BACKUP_FILE_MISSING', 'The uploaded file is gone; upload it again');
    return {
      stream: createReadStream(resolved, { highWaterMark: 1 << 20 }),
      size: info.size,
      expectedSha256: null,
      copy: 'upload',
    };
  }
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: source.backupId } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${source.backupId} does not exist`);
  const copies = readRecordStorage(record.storage);
  const size = record.fileSize === null ? null : Number(record.fileSize);
  if (copies.local) {
    return {
      stream: await openCopy(deps.storage, { location: 'local', key: copies.local.key }),
      size,
      expectedSha256: record.checksum,
      copy: 'local',
    };
  }
  if (copies.cloud && deps.storage.cloud) {
    return {
      stream: await openCopy(deps.storage, { location: 'cloud', key: copies.cloud.key }),
      size,
      expectedSha256: record.checksum,
      copy: 'cloud',
    };
  }
  throw new AppError('BACKUP_FILE_MISSING', `Backup ${source.backupId} has no copy this worker can read`);
}

/** SHA-256 of the stored bytes of `source`, read again from the start. */
export async function hashSource(deps: SourceDeps, source: RestoreSource): Promise<string> {
  const { stream } = await openStoredBytes(deps, source);
  return (await sha256Of(stream as AsyncIterable<Buffer>)).sha256;
}

/** The error for a stored file whose bytes are not those its record's checksum promises. */
export function checksumMismatch(expected: string, actual: string): AppError {
  return new AppError(
    'CHECKSUM_MISMATCH',
    'The stored backup file does not match its recorded checksum; it is damaged or was altered, so it was not restored',
    {
      expected,
      actual,
    },
  );
}
