import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { AppError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';
import { buildPrefix, deriveFileKey, KEY_BYTES, plaintextSegmentSize, sealSegment, type BackupKey } from './format.js';

/**
 * A Transform that encrypts a backup file as it streams (format and construction: `format.ts`):
 * it writes the header first, then one authenticated 64 KiB segment at a time, so memory stays at
 * about one segment whatever the file size. A fresh random salt and nonce prefix per stream give
 * every file its own key; the same key may encrypt any number of files.
 *
 * Traps: a segment is only written once the next byte arrives (the last one carries the last-segment
 * flag), so the file is complete only after the stream ends; an encrypted file that was never ended
 * reads as truncated. An empty input still makes a valid file (header and one empty segment).
 * @throws AppError `VALIDATION_ERROR` for a key id that cannot be written or a key that is not 32 bytes.
 */
export function createEncryptStream(key: BackupKey): Transform {
  if (key.bytes.length !== KEY_BYTES) {
    throw new AppError(
      'VALIDATION_ERROR',
      `Backup key "${key.id}" must be ${KEY_BYTES} bytes, not ${key.bytes.length}`,
    );
  }
  const prefix = buildPrefix(key.id);
  const salt = randomBytes(KEY_BYTES);
  const noncePrefix = randomBytes(7);
  const fileKey = deriveFileKey(key.bytes, salt, prefix);
  const header = Buffer.concat([prefix, Buffer.from([1 + KEY_BYTES + noncePrefix.length]), salt, noncePrefix]);
  const pending = new ByteQueue();
  let index = 0;
  let headerSent = false;

  const sendHeader = (stream: Transform) => {
    if (headerSent) return;
    stream.push(header);
    headerSent = true;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sendHeader(this);
      pending.push(chunk);
      try {
        // Strictly more than a segment: a segment that might be the last waits for the next byte or the end.
        while (pending.length > plaintextSegmentSize(index)) {
          for (const piece of sealSegment(
            fileKey,
            noncePrefix,
            index,
            pending.take(plaintextSegmentSize(index)),
            false,
          ))
            this.push(piece);
          index++;
        }
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      sendHeader(this);
      try {
        for (const piece of sealSegment(fileKey, noncePrefix, index, pending.takeAll(), true)) this.push(piece);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}
