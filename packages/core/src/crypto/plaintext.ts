import { pipeline, Readable } from 'node:stream';
import { AppError } from '../errors.js';
import { createDecryptStream } from './decrypt-stream.js';
import { createEncryptStream } from './encrypt-stream.js';
import { isEncryptedBackup, MAGIC, readKeyId, type BackupKey, type Keyring } from './format.js';
import { parseKeyConfig, type BackupKeyConfig } from './key-config.js';
import { Sha256Tally } from './sha256.js';

/** The encryption settings a worker runs with (config `BACKUP_ENCRYPTION_*`). */
export interface EncryptionSettings extends BackupKeyConfig {
  /** `BACKUP_ENCRYPTION_REQUIRED`: refuse to write any file unless `current` is set. */
  required: boolean;
}

/**
 * The encryption settings from the worker's configuration. Fails closed: with `required` and no
 * `BACKUP_ENCRYPTION_KEY`, throws, so a worker can refuse to start.
 * @throws AppError VALIDATION_ERROR naming the variable (never the key) for a missing or malformed key
 */
export function readEncryptionSettings(config: {
  BACKUP_ENCRYPTION_KEY?: string;
  BACKUP_DECRYPTION_KEYS?: string;
  BACKUP_ENCRYPTION_REQUIRED: boolean;
}): EncryptionSettings {
  const keys = parseKeyConfig(config.BACKUP_ENCRYPTION_KEY, config.BACKUP_DECRYPTION_KEYS);
  if (config.BACKUP_ENCRYPTION_REQUIRED && !keys.current) {
    throw new AppError(
      'VALIDATION_ERROR',
      'BACKUP_ENCRYPTION_REQUIRED is true, so BACKUP_ENCRYPTION_KEY must be set to <keyId>:<base64 of 32 random ' +
        'bytes> (openssl rand -base64 32)',
    );
  }
  return { ...keys, required: config.BACKUP_ENCRYPTION_REQUIRED };
}

/** No key at all: files are written in clear, encrypted ones cannot be read. */
export const NO_ENCRYPTION: EncryptionSettings = { current: null, keyring: new Map(), required: false };

/** A stored or uploaded backup file, opened for reading as plaintext (gzip or JSON). */
export interface PlainBackup {
  /** The file's bytes, decrypted when the file is encrypted; errors of decryption are emitted here. */
  stream: Readable;
  /** The key id the file's header names; null for a file stored in clear. */
  keyId: string | null;
  /** SHA-256 and size of the bytes as stored (before decryption); complete once `stream` ended. */
  stored: () => { sha256: string; bytes: number };
}

/**
 * Opens the bytes of a backup file as plaintext: THE place where a stored or uploaded file is
 * decrypted (restore's `openSource`, verify and everything built on them call it). An encrypted file
 * is recognised by its header (`isEncryptedBackup`), whatever its name or record says, so uploads and
 * files written before encryption was switched on read the same way; a clear file passes untouched.
 *
 * The stored bytes are hashed on their way in, so the recorded checksum (always that of the stored
 * bytes) can be checked after the read. Trap: decryption errors (`BACKUP_KEY_UNAVAILABLE`,
 * `BACKUP_DECRYPTION_FAILED`, `BACKUP_TRUNCATED`) arrive on `stream` while it is read, after some
 * authentic plaintext may already have passed: a consumer must treat everything as void on error.
 */
export async function openPlaintext(raw: Readable, keyring: Keyring): Promise<PlainBackup> {
  const it = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const tally = new Sha256Tally();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  // Enough of the start to tell an encrypted file (its magic and key id) from a clear one.
  while (headBytes < MAGIC.length + 2 + 32) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const start = Buffer.concat(head);
  async function* tap(): AsyncGenerator<Buffer> {
    tally.add(start);
    if (start.length > 0) yield start;
    if (ended) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      tally.add(next.value);
      yield next.value;
    }
  }
  const stored = () => tally.result();
  const tapped = Readable.from(tap(), { objectMode: false });
  // A consumer that gives up (destroys the stream) releases the file or connection underneath.
  tapped.once('close', () => {
    if (!raw.destroyed) raw.destroy();
  });
  if (!isEncryptedBackup(start)) return { stream: tapped, keyId: null, stored };
  // pipeline() destroys the decrypting stream with the source's error, and the source when the consumer stops early.
  const plain = pipeline(tapped, createDecryptStream(keyring), () => {});
  return { stream: plain, keyId: readKeyId(start), stored };
}

/**
 * The bytes to store for a backup file: encrypted with the current key when there is one. Fails
 * closed: with `required` and no current key nothing is returned, so no clear byte is ever written.
 * @throws AppError BACKUP_KEY_UNAVAILABLE when encryption is required and no key is configured
 */
export function encryptForStorage(
  plain: Readable,
  encryption: EncryptionSettings,
): { stream: Readable; keyId: string | null } {
  const key = keyForWriting(encryption);
  if (!key) return { stream: plain, keyId: null };
  return { stream: pipeline(plain, createEncryptStream(key), () => {}), keyId: key.id };
}

/** The key new files are written with, or null (clear); throws when encryption is required and there is none. */
export function keyForWriting(encryption: EncryptionSettings): BackupKey | null {
  if (encryption.current) return encryption.current;
  if (encryption.required) {
    throw new AppError(
      'BACKUP_KEY_UNAVAILABLE',
      'BACKUP_ENCRYPTION_REQUIRED is true but BACKUP_ENCRYPTION_KEY is not set: no backup file may be written in clear',
    );
  }
  return null;
}
