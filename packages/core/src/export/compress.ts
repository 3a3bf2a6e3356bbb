import { pipeline } from 'node:stream';
import { Readable } from 'node:stream';
import { createCompressor, type Compression, type CompressionLevels } from '../backup-format/compression.js';

/**
 * Reads up to `threshold` bytes of `source`. Small outputs stay plain (`compression: null`);
 * anything larger is compressed with `kind` as it streams. Only the head is ever held in memory.
 */
export async function compressIfLarge(
  source: AsyncIterable<Buffer>,
  threshold: number,
  kind: Compression,
  levels: CompressionLevels,
): Promise<{ compression: Compression | null; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size <= threshold) {
    const next = await it.next();
    if (next.done) return { compression: null, stream: Readable.from(head) };
    head.push(next.value);
    size += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    head.length = 0;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  // pipeline() destroys the compressing stream with the source's error, so the consumer sees it.
  const compressing = pipeline(Readable.from(all()), createCompressor(kind, levels), () => {});
  return { compression: kind, stream: compressing };
}
