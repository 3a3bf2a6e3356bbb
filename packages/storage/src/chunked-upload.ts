import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Headers of one part of a chunked upload; absent for a body that fits in one request. */
export interface PartRange {
  /** `bytes <first>-<last>/<total>`, the total being `-1` until the last part. */
  contentRange: string;
  /** The same for every part of one upload. */
  uploadId: string;
}

/**
 * Sends one part, given as the pieces it was read in (never joined into one buffer, which would hold the part
 * twice) and their total length.
 */
export type SendPart<T> = (pieces: readonly Buffer[], size: number, range: PartRange | undefined) => Promise<T>;

/**
 * Reads `body` and sends it in parts of exactly `chunkSize` bytes (the last one shorter), one request
 * at a time, awaiting each before reading on, so memory holds about one part whatever the body's size (the
 * part is handed over as the pieces read, views of the body's own chunks, not copied).
 * A body of at most `chunkSize` bytes goes as one plain request without range headers. Resolves with
 * the answer to the last part and the byte count. A failing part stops the upload and destroys `body`.
 */
export async function uploadInParts<T>(
  body: Readable,
  chunkSize: number,
  send: SendPart<T>,
): Promise<{ result: T; size: number }> {
  const uploadId = randomBytes(16).toString('hex');
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  let sentParts = 0;

  const flush = (isLast: boolean): Promise<T> => {
    const part = pending;
    const size = pendingBytes;
    pending = [];
    pendingBytes = 0;
    const first = offset;
    offset += size;
    const single = isLast && sentParts === 0;
    sentParts += 1;
    const range = single
      ? undefined
      : { contentRange: `bytes ${first}-${offset - 1}/${isLast ? offset : -1}`, uploadId };
    return send(part, size, range);
  };

  for await (const data of body) {
    let chunk: Buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as string);
    // Strictly greater: a full part is sent only once a byte beyond it exists, so the last part is never empty.
    while (pendingBytes + chunk.length > chunkSize) {
      const take = chunkSize - pendingBytes;
      pending.push(chunk.subarray(0, take));
      pendingBytes += take;
      chunk = chunk.subarray(take);
      await flush(false);
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  const result = await flush(true);
  return { result, size: offset };
}
