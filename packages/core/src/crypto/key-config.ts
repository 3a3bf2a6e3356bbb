import { AppError } from '../errors.js';
import { KEY_BYTES, KEY_ID_PATTERN, type BackupKey } from './format.js';

/** The keys a service holds: the one new backups use (if any) and every key backups may name. */
export interface BackupKeyConfig {
  current: BackupKey | null;
  keyring: ReadonlyMap<string, Uint8Array>;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** One `<keyId>:<base64 of 32 bytes>` entry; the messages name the variable and the id, never the key. */
function parseEntry(variable: string, entry: string, position: number): BackupKey {
  const where = `${variable} (entry ${position})`;
  const colon = entry.indexOf(':');
  if (colon < 0) {
    throw new AppError('VALIDATION_ERROR', `${where} must look like <keyId>:<base64 of ${KEY_BYTES} bytes>`);
  }
  const id = entry.slice(0, colon).trim();
  const material = entry.slice(colon + 1).trim();
  if (!KEY_ID_PATTERN.test(id)) {
    throw new AppError('VALIDATION_ERROR', `${where}: the key id must be 1 to 32 characters among A-Z a-z 0-9 . _ -`);
  }
  // Buffer.from(…, 'base64') silently skips characters it does not know: check the text first.
  if (!BASE64.test(material) || material.length % 4 !== 0) {
    throw new AppError('VALIDATION_ERROR', `${where}: the key "${id}" is not valid base64`);
  }
  const bytes = Buffer.from(material, 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new AppError(
      'VALIDATION_ERROR',
      `${where}: the key "${id}" is ${bytes.length} bytes; it must be ${KEY_BYTES} random bytes (openssl rand ` +
        `-base64 32)`,
    );
  }
  return { id, bytes };
}

/**
 * Parses the encryption settings: `current` is `BACKUP_ENCRYPTION_KEY` (`<keyId>:<base64 of 32
 * bytes>`), `older` is `BACKUP_DECRYPTION_KEYS` (comma-separated entries of the same form, for backups
 * written before a rotation). The keyring holds the current key and every older one.
 *
 * Errors never contain key material, only the variable, the entry's position and the key id.
 * Trap: an empty or absent `current` means "no encryption" (`current: null`); whether that is allowed
 * is the caller's decision (`BACKUP_ENCRYPTION_REQUIRED`).
 * @throws AppError `VALIDATION_ERROR` for a malformed entry, bad base64, a key that is not 32 bytes, or
 * a key id that appears twice (also across the two variables).
 */
export function parseKeyConfig(current?: string, older?: string): BackupKeyConfig {
  const keyring = new Map<string, Uint8Array>();
  const add = (variable: string, key: BackupKey) => {
    if (keyring.has(key.id)) {
      throw new AppError(
        'VALIDATION_ERROR',
        `${variable}: the key id "${key.id}" appears more than once; each id must name one key`,
      );
    }
    keyring.set(key.id, key.bytes);
  };
  const currentKey = current?.trim() ? parseEntry('BACKUP_ENCRYPTION_KEY', current.trim(), 1) : null;
  if (currentKey) add('BACKUP_ENCRYPTION_KEY', currentKey);
  const entries = (older ?? '').split(',').map((e) => e.trim());
  entries.forEach((entry, i) => {
    if (entry) add('BACKUP_DECRYPTION_KEYS', parseEntry('BACKUP_DECRYPTION_KEYS', entry, i + 1));
  });
  return { current: currentKey, keyring };
}
