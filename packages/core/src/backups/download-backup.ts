import type { Readable } from 'node:stream';
import type { PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import { isStorageError } from '@mp/storage';
import type { StorageSet } from '../deps.js';
import { AppError } from '../errors.js';
import { getBackup } from './get-backup.js';
import { readRecordStorage } from './record-storage.js';

export type BackupDownload =
  | { kind: 'file'; stream: Readable; size: number; filename: string; contentType: string; checksum: string | null }
  | { kind: 'redirect'; url: string };

/**
 * Where to get a usable backup's bytes: the local copy as a stream (preferred), else an expiring
 * signed URL of the cloud copy. Keys come from the record; the storage drivers refuse any key that
 * is not a flat file name, so a tampered record cannot reach outside the backup folder.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, BACKUP_FILE_MISSING, CLOUD_STORAGE_NOT_CONFIGURED
 */
export async function openBackupDownload(
  deps: { prisma: PrismaClient; storage: StorageSet; logger: Logger },
  input: { id: string; urlTtlSeconds: number },
): Promise<BackupDownload> {
  const record = await getBackup(deps, input);
  if (record.status !== 'completed' && record.status !== 'partial') {
    throw new AppError('BACKUP_NOT_READY', `Backup ${record.id} is ${record.status}; it cannot be downloaded yet`);
  }
  const copies = readRecordStorage(record.storage);
  const localKey = copies.local?.key ?? null;
  const cloudKey = copies.cloud?.key ?? null;
  if (localKey) {
    try {
      const local = deps.storage.local;
      const size = local.stat ? (await local.stat(localKey)).size : Number(record.fileSize ?? 0);
      const stream = await local.open(localKey);
      // Served as stored: an encrypted file stays encrypted (decrypt with the key its header names).
      const encrypted = record.encryptionKeyId !== null || localKey.endsWith('.enc');
      // The stored name says the codec (`.json.gz`, `.json.zst`): both are written under these names only.
      const zst = !encrypted && localKey.endsWith('.zst');
      const gz = !encrypted && !zst && (record.compressed || localKey.endsWith('.gz'));
      const base = record.filename.replace(/[^A-Za-z0-9._-]/g, '_');
      return {
        kind: 'file',
        stream,
        size,
        filename:
          gz && !base.endsWith('.gz')
            ? `${base}.gz`
            : zst && !base.endsWith('.zst')
              ? `${base}.zst`
              : encrypted && !base.endsWith('.enc')
                ? `${base}.enc`
                : base,
        contentType: encrypted
          ? 'application/octet-stream'
          : zst
            ? 'application/zstd'
            : gz
              ? 'application/gzip'
              : 'application/json',
        checksum: record.checksum?.replace(/^sha256[:=]/, '') ?? null,
      };
    } catch (err) {
      if (!isStorageError(err) || err.code === 'STORAGE_CLOUD_ERROR') throw err;
      deps.logger.warn({ backupId: record.id, code: err.code }, 'local backup copy unusable');
      if (!cloudKey)
        throw new AppError('BACKUP_FILE_MISSING', `The file of backup ${record.id} is missing from local storage`);
    }
  }
  if (!cloudKey) throw new AppError('BACKUP_FILE_MISSING', `Backup ${record.id} has no stored copy`);
  if (!deps.storage.cloud?.signedUrl) {
    throw new AppError('CLOUD_STORAGE_NOT_CONFIGURED', 'This backup is only in Cloudinary, which is not configured');
  }
  return { kind: 'redirect', url: deps.storage.cloud.signedUrl(cloudKey, input.urlTtlSeconds) };
}
