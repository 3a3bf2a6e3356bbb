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
 * Sends one part. `part` is a view of the upload's one part buffer, overwritten by the next part: it must not
 * be used once the returned promise settles (an HTTP request has sent every byte once it has its answer).
 */
export type SendPart<T> = (part: Buffer, range: PartRange | undefined) => Promise<T>;

/**
 * Reads `body` and sends it in parts of exactly `chunkSize` bytes (the last one shorter), one request
 * at a time, awaiting each before reading on. Every part is copied into one buffer of `chunkSize` bytes,
 * allocated once per upload and reused: the body's chunks are let go at once (they die young, like those
 * of a local write) instead of living as long as a part takes to send, which got them promoted and left
 * tens of MB of dead Buffers waiting for a full GC. So memory holds one part whatever the body's size.
 * A body of at most `chunkSize` bytes goes as one plain request without range headers. Resolves with
 * the answer to the last part and the byte count. A failing part stops the upload and destroys `body`.
 * `afterPart`, when given, is awaited after each part but the last has its answer (bytes sent so far).
 */
export async function uploadInParts<T>(
  body: Readable,
  chunkSize: number,
  send: SendPart<T>,
  afterPart?: (bytesSent: number) => Promise<void>,
): Promise<{ result: T; size: number }> {
  const uploadId = randomBytes(16).toString('hex');
  let part: Buffer | undefined;
  let pendingBytes = 0;
  let offset = 0;
  let sentParts = 0;

  const flush = (isLast: boolean): Promise<T> => {
    const bytes = part ? part.subarray(0, pendingBytes) : Buffer.alloc(0);
    pendingBytes = 0;
    const first = offset;
    offset += bytes.length;
    const single = isLast && sentParts === 0;
    sentParts += 1;
    const range = single
      ? undefined
      : { contentRange: `bytes ${first}-${offset - 1}/${isLast ? offset : -1}`, uploadId };
    return send(bytes, range);
  };

  for await (const data of body) {
    let chunk: Buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as string);
    // Strictly greater: a full part is sent only once a byte beyond it exists, so the last part is never empty.
    while (pendingBytes + chunk.length > chunkSize) {
      const take = chunkSize - pendingBytes;
      part ??= Buffer.allocUnsafeSlow(chunkSize);
      chunk.copy(part, pendingBytes, 0, take);
      pendingBytes += take;
      chunk = chunk.subarray(take);
      await flush(false);
      await afterPart?.(offset);
    }
    if (chunk.length > 0) {
      part ??= Buffer.allocUnsafeSlow(chunkSize);
      chunk.copy(part, pendingBytes);
      pendingBytes += chunk.length;
    }
  }
  const result = await flush(true);
  return { result, size: offset };
}
