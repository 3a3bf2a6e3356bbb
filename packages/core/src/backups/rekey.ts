import { Readable } from 'node:stream';
import { UnrecoverableError } from '@mp/jobs';
import type { BackupRecord } from '@mp/db';
import { AppError } from '../errors.js';
import { toJsonValue } from '../json-value.js';
import { encryptForStorage, NO_ENCRYPTION, openPlaintext } from '../crypto/plaintext.js';
import { digesting, Sha256Tally, sha256Of, tallied } from '../crypto/sha256.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import type { JobProgress } from '../job-progress.js';
import { cloudEntry, readRecordStorage, type RecordStorage } from './record-storage.js';

export type RekeyDeps = Pick<BackupRunDeps, 'prisma' | 'storage' | 'logger' | 'encryption'>;

export interface RekeyResult {
  fromKeyId: string;
  toKeyId: string;
  /** Backups now encrypted with `toKeyId`, every copy replaced. */
  rekeyed: { id: string; checksum: string }[];
  /** Backups left as they were (old copies untouched), with the reason. */
  failed: { id: string; reason: string }[];
  /** Old copies that could not be deleted after their record moved to the new ones (harmless leftovers). */
  leftovers: string[];
}

/**
 * `backup_….json.gz.enc` (or `.json.zst.enc`) or an earlier re-key of it → the same stem with a fresh re-key mark.
 */
function rekeyedName(key: string): string {
  const ext = /\.json(\.gz|\.zst)?(\.enc)?$/.exec(key)?.[0] ?? '';
  const stem = key.slice(0, key.length - ext.length).replace(/\.rk[a-z0-9]+$/, '');
  return `${stem}.rk${Date.now().toString(36)}${ext.endsWith('.enc') ? ext : `${ext}.enc`}`;
}

/**
 * Re-encrypts every stored backup whose file is encrypted with key `fromKeyId` to the current key
 * (`BACKUP_ENCRYPTION_KEY`), one backup at a time. For each backup:
 * 1. its readable copy (local preferred) is decrypted and re-encrypted into a new local file, hashing
 *    the plaintext on the way;
 * 2. the new file is read back and decrypted: its plaintext hash must equal the old one;
 * 3. a cloud copy, if the backup has one, is replaced by an upload of the new file, read back and
 *    compared with the new checksum;
 * 4. only then the record moves to the new copies (checksum of the new stored bytes, key id), and the
 *    old copies are deleted.
 * A backup whose step fails keeps its old copies and record (new files are removed) and is reported
 * in `failed`; the others go on. The operation's `backupId` names the backup in hand, so retention
 * treats it as being read meanwhile.
 * @throws UnrecoverableError when no current key is set, `fromKeyId` is the current key, or it is not
 *   in the keyring (BACKUP_DECRYPTION_KEYS).
 */
export async function rekeyBackups(
  deps: RekeyDeps,
  input: { operationId: string; fromKeyId: string },
  onProgress: (p: JobProgress) => void = () => {},
): Promise<RekeyResult> {
  const encryption = deps.encryption ?? NO_ENCRYPTION;
  const current = encryption.current;
  if (!current)
    throw new UnrecoverableError('BACKUP_ENCRYPTION_KEY is not set: there is no current key to re-encrypt to');
  if (input.fromKeyId === current.id)
    throw new UnrecoverableError(`Key "${input.fromKeyId}" is already the current key`);
  if (!encryption.keyring.get(input.fromKeyId)) {
    throw new UnrecoverableError(
      `Key "${input.fromKeyId}" is not in BACKUP_DECRYPTION_KEYS: its backups cannot be read`,
    );
  }
  const records = await deps.prisma.backupRecord.findMany({
    where: { encryptionKeyId: input.fromKeyId, status: { in: ['completed', 'partial'] } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  const result: RekeyResult = {
    fromKeyId: input.fromKeyId,
    toKeyId: current.id,
    rekeyed: [],
    failed: [],
    leftovers: [],
  };
  for (const [index, record] of records.entries()) {
    onProgress({ percent: Math.floor((index / records.length) * 100), stage: 'rekeying', rows: index });
    await deps.prisma.operation.update({ where: { id: input.operationId }, data: { backupId: record.id } });
    try {
      const checksum = await rekeyOne(deps, record, result);
      result.rekeyed.push({ id: record.id, checksum });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      deps.logger.warn({ backupId: record.id, err: reason }, 'rekey: backup left on its old key');
      result.failed.push({ id: record.id, reason });
    }
  }
  await deps.prisma.operation.update({ where: { id: input.operationId }, data: { backupId: null } });
  onProgress({ percent: 100, stage: 'done', rows: records.length });
  deps.logger.info(
    { from: input.fromKeyId, to: current.id, rekeyed: result.rekeyed.length, failed: result.failed.length },
    'rekey finished',
  );
  if (result.failed.length > 0) {
    throw new AppError(
      'BACKUP_DECRYPTION_FAILED',
      `Re-key incomplete: ${result.failed.length} backup(s) stay on key "${input.fromKeyId}" (` +
        `${result.rekeyed.length} moved)`,
      result,
    );
  }
  return result;
}

/** Re-encrypts one backup's copies (see {@link rekeyBackups}); returns the new checksum. */
async function rekeyOne(deps: RekeyDeps, record: BackupRecord, result: RekeyResult): Promise<string> {
  const encryption = deps.encryption ?? NO_ENCRYPTION;
  const copies = readRecordStorage(record.storage);
  const from = copies.local ? deps.storage.local : copies.cloud ? deps.storage.cloud : null;
  const fromKey = copies.local?.key ?? copies.cloud?.key;
  if (!from || !fromKey) throw new AppError('BACKUP_FILE_MISSING', 'No copy this worker can read');
  const newKey = rekeyedName(fromKey);
  const written: { where: 'local' | 'cloud'; key: string }[] = [];
  try {
    // 1. Decrypt the old file, hash its plaintext, encrypt with the current key, store it locally.
    const plain = await openPlaintext(await from.open(fromKey), encryption.keyring);
    if (plain.keyId !== record.encryptionKeyId)
      throw new AppError(
        'BACKUP_DECRYPTION_FAILED',
        `The file names key "${plain.keyId}", not "${record.encryptionKeyId}"`,
      );
    const plainTally = new Sha256Tally();
    const sealed = encryptForStorage(Readable.from(tallied(plain.stream, plainTally)), encryption);
    const digest = digesting(sealed.stream);
    const storedLocal = await deps.storage.local.put(newKey, digest.stream);
    written.push({ where: 'local', key: newKey });
    if (record.checksum && plain.stored().sha256 !== record.checksum) {
      throw new AppError(
        'CHECKSUM_MISMATCH',
        'The old file does not match its recorded checksum; it was left as it is',
      );
    }
    const { sha256: newChecksum, bytes } = digest.result();
    const oldPlain = plainTally.result().sha256;

    // 2. Read the new file back: it must decrypt to the same plaintext.
    const check = await openPlaintext(await deps.storage.local.open(newKey), encryption.keyring);
    const newPlain = (await sha256Of(check.stream)).sha256;
    if (newPlain !== oldPlain || check.stored().sha256 !== newChecksum) {
      throw new AppError('BACKUP_DECRYPTION_FAILED', 'The re-encrypted file does not read back to the same content');
    }

    // 3. The cloud copy: the same new bytes, uploaded and read back.
    const storage: RecordStorage = {};
    if (copies.local) {
      if (storedLocal.location.kind !== 'local') throw new Error('local storage returned a non-local location');
      storage.local = { key: newKey, path: storedLocal.location.path };
    }
    if (copies.cloud) {
      const cloud = deps.storage.cloud;
      if (!cloud)
        throw new AppError(
          'CLOUD_STORAGE_NOT_CONFIGURED',
          'This backup has a cloud copy and cloud storage is not configured',
        );
      const stored = await cloud.put(newKey, await deps.storage.local.open(newKey), { size: bytes });
      written.push({ where: 'cloud', key: newKey });
      if ((await sha256Of(await cloud.open(newKey))).sha256 !== newChecksum) {
        throw new AppError('STORAGE_ERROR', 'The re-encrypted cloud copy does not read back as written');
      }
      storage.cloud = cloudEntry(newKey, stored.location);
    }

    // 4. The record moves to the new copies; only then do the old ones go.
    await deps.prisma.backupRecord.update({
      where: { id: record.id },
      data: {
        storage: toJsonValue(storage),
        filename: copies.local ? newKey : record.filename,
        checksum: newChecksum,
        fileSize: BigInt(bytes),
        encryptionKeyId: sealed.keyId,
        cloudinaryUrl: storage.cloud?.url ?? null,
        cloudinaryAssetId: storage.cloud?.assetId ?? null,
      },
    });
    written.length = 0;
    if (!copies.local) await deps.storage.local.delete(newKey).catch(() => result.leftovers.push(`local:${newKey}`));
    if (copies.local)
      await deps.storage.local
        .delete(copies.local.key)
        .catch(() => result.leftovers.push(`local:${copies.local!.key}`));
    if (copies.cloud)
      await deps.storage
        .cloud!.delete(copies.cloud.key)
        .catch(() => result.leftovers.push(`cloud:${copies.cloud!.key}`));
    return newChecksum;
  } catch (err) {
    // Nothing changed for this backup: the new files go, the old ones and the record stay.
    for (const w of written)
      await (w.where === 'local' ? deps.storage.local : deps.storage.cloud!).delete(w.key).catch(() => {});
    throw err;
  }
}
