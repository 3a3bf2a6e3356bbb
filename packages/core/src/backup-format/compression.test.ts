import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  createCompressor,
  decompressing,
  detectCompression,
  isDecompressError,
  type Compression,
} from './compression.js';

const loanRow = (i: number) => `{"id":"${i}","amount":"${(i * 13.37).toFixed(2)}","notes":"row ${i}"}`;
const loans = Array.from({ length: 5000 }, (_, i) => loanRow(i)).join('\n,');
const doc = Buffer.from(`{"metadata":{"version":"1.1"},\n"data":{\n"loans":[\n${loans}\n]\n}}`);

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk);
  return Buffer.concat(out);
}

async function compress(kind: Compression, data: Buffer): Promise<Buffer> {
  return collect(Readable.from([data]).pipe(createCompressor(kind, { gzipLevel: 1, zstdLevel: 3 })));
}

/** Decompresses `pieces` (the file cut anywhere) as every reader does; returns the codec it saw and the bytes. */
async function read(pieces: Buffer[]): Promise<{ kind: Compression | null | undefined; data: Buffer }> {
  let kind: Compression | null | undefined;
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    decompressing((k) => (kind = k)),
    async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) out.push(c);
    },
  );
  return { kind, data: Buffer.concat(out) };
}

describe('compression', () => {
  it.each(['gzip', 'zstd'] as const)(
    '%s round-trips, detected by its first bytes even when they arrive one at a time',
    async (kind) => {
      const file = await compress(kind, doc);
      expect(file.length).toBeLessThan(doc.length / 3);
      expect(detectCompression(file)).toBe(kind);
      const pieces = [file.subarray(0, 1), file.subarray(1, 2), file.subarray(2, 3), file.subarray(3)];
      expect(await read(pieces)).toEqual({ kind, data: doc });
    },
  );

  it('passes plain JSON through untouched', async () => {
    expect(detectCompression(doc)).toBeNull();
    expect(await read([doc.subarray(0, 2), doc.subarray(2)])).toEqual({ kind: null, data: doc });
    expect(await read([])).toEqual({ kind: null, data: Buffer.alloc(0) });
  });

  it('refuses a damaged or cut zstd file (its frame checksum), as a decompression error', async () => {
    const file = await compress('zstd', doc);
    const flipped = Buffer.from(file);
    flipped[Math.floor(file.length / 2)]! ^= 0x01;
    for (const bad of [flipped, file.subarray(0, file.length - 10), file.subarray(0, 4)]) {
      const err = await read([bad]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `${bad.length} bytes`).toBeInstanceOf(Error);
      expect(isDecompressError(err)).toBe(true);
      expect((err as Error).message).toMatch(/zstd/);
    }
  });
});

/**
 * Damaged files through `decompressing()` with every kind of consumer the read-only paths use (a
 * function, a Writable that takes its time): each must reject with a decompression error. A hang
 * fails the test by its timeout (the restore's decompressor once hung on a frame checksum that
 * failed after the file's last byte).
 */
describe('decompressing() on damaged files', () => {
  const big = Buffer.from(
    Array.from({ length: 40_000 }, (_, i) => `{"id":"${i}","amount":"${(i * 7.31).toFixed(2)}"}`).join('\n,'),
  );

  async function damaged(kind: Compression): Promise<Record<string, Buffer>> {
    const file = await compress(kind, big);
    const flip = (at: number) => {
      const copy = Buffer.from(file);
      copy[at]! ^= 0x55;
      return copy;
    };
    return {
      'cut in the middle': file.subarray(0, Math.floor(file.length / 2)),
      'cut before its last bytes': file.subarray(0, file.length - 3),
      'only its magic bytes': file.subarray(0, 4),
      'a byte changed in the middle': flip(Math.floor(file.length / 2)),
      'a byte of its checksum changed': flip(file.length - 2),
    };
  }

  const consumers = {
    'a function': async (s: AsyncIterable<Buffer>) => {
      for await (const _ of s);
    },
    'a slow Writable': () =>
      new Writable({
        highWaterMark: 1024,
        write(_chunk, _enc, done) {
          setImmediate(done);
        },
      }),
  };

  it.each(['gzip', 'zstd'] as const)('%s: every damage fails with a decompression error, never hangs', async (kind) => {
    const failures: string[] = [];
    for (const [damage, bytes] of Object.entries(await damaged(kind))) {
      const pieces = [
        [bytes],
        Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) => bytes.subarray(i * 4096, (i + 1) * 4096)),
      ];
      for (const [index, split] of pieces.entries()) {
        for (const [name, consumer] of Object.entries(consumers)) {
          const sink = name === 'a function' ? consumer : (consumer as () => Writable)();
          const err = await pipeline(Readable.from(split), decompressing(), sink as never).then(
            () => null,
            (e: unknown) => e,
          );
          if (!isDecompressError(err))
            failures.push(`${damage}, ${index ? 'in pieces' : 'whole'}, ${name}: ${String(err)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
