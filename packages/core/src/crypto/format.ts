import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { AppError } from '../errors.js';

/**
 * The encrypted backup file format, version 1.
 *
 * Construction: Tink's streaming AEAD "AES-GCM-HKDF" (`AesGcmHkdfStreaming`, as in Tink's
 * AES256_GCM_HKDF_* key templates) with HKDF-SHA256, a 32-byte derived key, 64 KiB ciphertext segments
 * and no first-segment offset. Nothing here is new cryptography; only the 'MPBE' prefix is ours:
 *
 * ```
 * prefix  = "MPBE" | version 0x01 | keyIdLength (1 byte) | keyId (ASCII)
 * header  = headerLength 0x28 | salt (32 random bytes) | noncePrefix (7 random bytes)
 * file    = prefix | header | segment_0 | segment_1 | … | segment_k
 * fileKey = HKDF-SHA256(ikm = master key, salt = salt, info = prefix, 32 bytes)
 * nonce_i = noncePrefix | uint32 big-endian i | 0x01 if i = k else 0x00
 * segment_i = AES-256-GCM(fileKey, nonce_i, plaintext_i) | 16-byte tag
 * ```
 *
 * Everything after the prefix is exactly what Tink's `newEncryptingStream(out, associatedData = prefix)`
 * writes: the prefix (format, version, key id) is bound to every segment through the key derivation,
 * the counter in each nonce detects reordered or dropped segments, and the last-segment flag detects a
 * file cut at a segment boundary. Segment 0 holds 65,536 − 40 − 16 = 65,480 plaintext bytes, every other
 * full segment 65,520; only the last segment may be shorter, and it is empty only for an empty file.
 */
export const MAGIC = Buffer.from('MPBE', 'ascii');
export const FORMAT_VERSION = 1;
export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
const NONCE_PREFIX_BYTES = 7;
export const TINK_HEADER_BYTES = 1 + KEY_BYTES + NONCE_PREFIX_BYTES;
export const CIPHERTEXT_SEGMENT_BYTES = 64 * 1024;
const MAX_SEGMENTS = 2 ** 32;

/** A key id: short ASCII that can sit in a file header, an env value and a log line. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

/** A master key as configured: its id (written in every file header) and its 32 bytes. */
export interface BackupKey {
  id: string;
  bytes: Uint8Array;
}

/** Where decryption finds a key by the id a file names; a `Map<string, Uint8Array>` is one. */
export interface Keyring {
  get(id: string): Uint8Array | undefined;
}

/** Ciphertext bytes of segment `index` when it is full. */
export function ciphertextSegmentSize(index: number): number {
  return index === 0 ? CIPHERTEXT_SEGMENT_BYTES - TINK_HEADER_BYTES : CIPHERTEXT_SEGMENT_BYTES;
}

/** Plaintext bytes of segment `index` when it is full. */
export function plaintextSegmentSize(index: number): number {
  return ciphertextSegmentSize(index) - TAG_BYTES;
}

/** The file prefix for a key id; throws `VALIDATION_ERROR` for an id that cannot be written. */
export function buildPrefix(keyId: string): Buffer {
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new AppError('VALIDATION_ERROR', 'A backup key id is 1 to 32 characters among A-Z a-z 0-9 . _ -');
  }
  const id = Buffer.from(keyId, 'ascii');
  return Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, id.length]), id]);
}

export function deriveFileKey(master: Uint8Array, salt: Uint8Array, prefix: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, prefix, KEY_BYTES));
}

function nonceFor(noncePrefix: Uint8Array, index: number, last: boolean): Buffer {
  if (index >= MAX_SEGMENTS) {
    throw new AppError('BACKUP_DECRYPTION_FAILED', 'The backup file has more segments than the format can count');
  }
  const nonce = Buffer.alloc(NONCE_PREFIX_BYTES + 5);
  nonce.set(noncePrefix, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  nonce[NONCE_PREFIX_BYTES + 4] = last ? 1 : 0;
  return nonce;
}

/**
 * One sealed segment as its pieces (ciphertext, then the tag), written one after the other: no copy into
 * one buffer, since a segment is sealed for every 64 KiB of every file.
 */
export function sealSegment(
  key: Buffer,
  noncePrefix: Uint8Array,
  index: number,
  plain: Buffer,
  last: boolean,
): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', key, nonceFor(noncePrefix, index, last), { authTagLength: TAG_BYTES });
  const body = cipher.update(plain);
  const rest = cipher.final(); // empty for GCM; kept so nothing is ever dropped
  return rest.length > 0 ? [body, rest, cipher.getAuthTag()] : [body, cipher.getAuthTag()];
}

/**
 * The plaintext of one segment, or null when it does not authenticate under that index and flag.
 * Trap: nothing of an unauthenticated segment is returned, so callers never pass on unverified bytes.
 */
export function openSegment(
  key: Buffer,
  noncePrefix: Uint8Array,
  index: number,
  sealed: Buffer,
  last: boolean,
): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(noncePrefix, index, last), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    const rest = decipher.final(); // empty for GCM; throws when the tag does not verify
    return rest.length > 0 ? Buffer.concat([body, rest]) : body;
  } catch {
    return null;
  }
}

/** True when `head` (the first bytes of a file; 4 are enough) starts like an encrypted backup. */
export function isEncryptedBackup(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.equals(head.subarray(0, MAGIC.length));
}

/**
 * The key id an encrypted backup names, from its first bytes (6 + 32 are always enough), or null when
 * `head` is not an encrypted backup of a known version or is too short. The id is not authenticated
 * here: a file whose id was altered fails later, in decryption.
 */
export function readKeyId(head: Uint8Array): string | null {
  if (!isEncryptedBackup(head) || head.length < 6 || head[4] !== FORMAT_VERSION) return null;
  const length = head[5]!;
  if (head.length < 6 + length) return null;
  const id = Buffer.from(head.subarray(6, 6 + length)).toString('latin1');
  return KEY_ID_PATTERN.test(id) ? id : null;
}
