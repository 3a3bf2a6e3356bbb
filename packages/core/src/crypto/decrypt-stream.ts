import { Transform } from 'node:stream';
import { AppError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';
import {
  ciphertextSegmentSize,
  deriveFileKey,
  FORMAT_VERSION,
  isEncryptedBackup,
  KEY_BYTES,
  KEY_ID_PATTERN,
  MAGIC,
  openSegment,
  TINK_HEADER_BYTES,
  type Keyring,
} from './format.js';

const ALTERED = 'the file was altered or truncated, or the key is wrong';

interface Opened {
  key: Buffer;
  noncePrefix: Buffer;
}

/**
 * A Transform that decrypts an encrypted backup (format: `format.ts`) as it streams, in about one
 * segment of memory. It reads the header, takes the key the header names from `keyring`, and passes on
 * a segment's plaintext only after its tag verified, so a consumer never sees an unauthenticated byte.
 *
 * Errors (emitted on the stream; a pipeline rejects with them):
 * - `BACKUP_KEY_UNAVAILABLE`: the file names a key id that `keyring` lacks (details: `{ keyId }`);
 * - `UNSUPPORTED_BACKUP_VERSION`: a format version this code does not know;
 * - `BACKUP_DECRYPTION_FAILED`: not an encrypted backup, a segment that does not authenticate (altered
 *   header, segment or tag, reordered segments, wrong key, cut inside a segment) or data after the last
 *   segment (details: `{ segment }`);
 * - `BACKUP_TRUNCATED`: the file ends inside its header, or right after a segment that is not the last.
 *
 * Trap: plaintext already passed on before an error was authentic but incomplete; a consumer must
 * treat the whole output as void when the stream errors (write to a temporary name, rename on success).
 */
export function createDecryptStream(keyring: Keyring): Transform {
  const pending = new ByteQueue();
  let opened: Opened | null = null;
  let index = 0;

  /** Reads the prefix and header once enough bytes are there; null while more are needed. */
  const openHeader = (): Opened | null => {
    if (pending.length < MAGIC.length + 2) return null;
    const fixed = pending.take(MAGIC.length + 2);
    if (!isEncryptedBackup(fixed)) {
      throw new AppError(
        'BACKUP_DECRYPTION_FAILED',
        `This file does not start with the encrypted backup header: ${ALTERED}`,
      );
    }
    if (fixed[4] !== FORMAT_VERSION) {
      throw new AppError(
        'UNSUPPORTED_BACKUP_VERSION',
        `Encrypted backup format version ${fixed[4]} is not supported (this service reads ${FORMAT_VERSION})`,
      );
    }
    const idLength = fixed[5]!;
    if (pending.length < idLength + TINK_HEADER_BYTES) {
      // The key id and header have not all arrived: read the prefix again with the next chunk.
      pending.unshift(fixed);
      return null;
    }
    const idBytes = pending.take(idLength);
    const keyId = idBytes.toString('latin1');
    if (!KEY_ID_PATTERN.test(keyId)) {
      throw new AppError('BACKUP_DECRYPTION_FAILED', `The key id in this file's header is malformed: ${ALTERED}`);
    }
    const master = keyring.get(keyId);
    if (!master) {
      throw new AppError(
        'BACKUP_KEY_UNAVAILABLE',
        `This backup is encrypted with key "${keyId}", which this service does not have: add it to ` +
          `BACKUP_DECRYPTION_KEYS`,
        { keyId },
      );
    }
    const header = pending.take(TINK_HEADER_BYTES);
    if (header[0] !== TINK_HEADER_BYTES) {
      throw new AppError('BACKUP_DECRYPTION_FAILED', `The header length byte is wrong: ${ALTERED}`);
    }
    const prefix = Buffer.concat([fixed, idBytes]);
    const salt = header.subarray(1, 1 + KEY_BYTES);
    return { key: deriveFileKey(master, salt, prefix), noncePrefix: Buffer.from(header.subarray(1 + KEY_BYTES)) };
  };

  const failed = (segment: number, why: string) =>
    new AppError('BACKUP_DECRYPTION_FAILED', `Segment ${segment} of this backup ${why}: ${ALTERED}`, { segment });

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      pending.push(chunk);
      try {
        opened ??= openHeader();
        // Strictly more than a full segment: only then is this segment known not to be the last.
        while (opened && pending.length > ciphertextSegmentSize(index)) {
          const sealed = pending.take(ciphertextSegmentSize(index));
          const plain = openSegment(opened.key, opened.noncePrefix, index, sealed, false);
          if (!plain) {
            const isLast = openSegment(opened.key, opened.noncePrefix, index, sealed, true) !== null;
            throw failed(index, isLast ? 'is its last, yet more data follows it' : 'does not authenticate');
          }
          this.push(plain);
          index++;
        }
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        opened ??= openHeader();
        if (!opened) {
          throw new AppError('BACKUP_TRUNCATED', 'This encrypted backup ends inside its header: the file is truncated');
        }
        const sealed = pending.takeAll();
        const plain = openSegment(opened.key, opened.noncePrefix, index, sealed, true);
        if (!plain) {
          if (sealed.length > 0 && openSegment(opened.key, opened.noncePrefix, index, sealed, false)) {
            throw new AppError(
              'BACKUP_TRUNCATED',
              `This encrypted backup ends after segment ${index}, which is not its last: the file is truncated`,
              { segment: index },
            );
          }
          throw sealed.length === 0
            ? new AppError(
                'BACKUP_TRUNCATED',
                'This encrypted backup ends right after its header: the file is truncated',
              )
            : failed(index, 'does not authenticate');
        }
        this.push(plain);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}
