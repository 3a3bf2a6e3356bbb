import { pipeline } from 'node:stream';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';

/**
 * Reads up to `threshold` bytes of `source`. Small outputs stay plain (`compressed: false`);
 * anything larger is gzip-compressed as it streams. Only the head is ever held in memory.
 */
export async function compressIfLarge(
  source: AsyncIterable<Buffer>,
  threshold: number,
  level: number,
): Promise<{ compressed: boolean; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size <= threshold) {
    const next = await it.next();
    if (next.done) return { compressed: false, stream: Readable.from(head) };
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
  // pipeline() destroys the gzip stream with the source's error, so the consumer sees it.
  const gzip = pipeline(Readable.from(all()), createGzip({ level }), () => {});
  return { compressed: true, stream: gzip };
}
