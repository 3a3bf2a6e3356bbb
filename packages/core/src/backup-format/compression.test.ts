import { Readable } from 'node:stream';
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
