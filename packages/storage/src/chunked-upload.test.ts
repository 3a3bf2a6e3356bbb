import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { uploadInParts, type PartRange } from './chunked-upload.js';

/** Records what would be sent; answers each part with its index. */
function recorder() {
  const sent: Array<{ bytes: string; range: PartRange | undefined }> = [];
  const send = async (part: Buffer, range: PartRange | undefined): Promise<number> => {
    sent.push({ bytes: part.toString(), range });
    return sent.length;
  };
  return { sent, send };
}
const pieces = (...parts: string[]): Readable => Readable.from(parts.map((p) => Buffer.from(p)));

describe('uploadInParts', () => {
  it('sends a body that fits in one part as one plain request', async () => {
    const { sent, send } = recorder();
    expect(await uploadInParts(pieces('ab', 'cd'), 4, send)).toEqual({ result: 1, size: 4 });
    expect(sent).toEqual([{ bytes: 'abcd', range: undefined }]);
  });

  it('sends an empty body as one plain, empty request', async () => {
    const { sent, send } = recorder();
    expect(await uploadInParts(pieces(), 4, send)).toEqual({ result: 1, size: 0 });
    expect(sent).toEqual([{ bytes: '', range: undefined }]);
  });

  it('cuts parts of exactly chunkSize across arbitrary reads, the total only on the last', async () => {
    const { sent, send } = recorder();
    const out = await uploadInParts(pieces('abc', 'defghij', 'k'), 4, send);
    expect(out).toEqual({ result: 3, size: 11 });
    expect(sent.map((s) => [s.bytes, s.range?.contentRange])).toEqual([
      ['abcd', 'bytes 0-3/-1'],
      ['efgh', 'bytes 4-7/-1'],
      ['ijk', 'bytes 8-10/11'],
    ]);
    expect(new Set(sent.map((s) => s.range?.uploadId)).size).toBe(1);
  });

  it('never sends an empty last part when the size is a multiple of chunkSize', async () => {
    const { sent, send } = recorder();
    await uploadInParts(pieces('abcdefgh'), 4, send);
    expect(sent.map((s) => s.range?.contentRange)).toEqual(['bytes 0-3/-1', 'bytes 4-7/8']);
  });

  it('cuts exact parts into one reused buffer of chunkSize, the last part short', async () => {
    const chunks = [Buffer.alloc(3000, 1), Buffer.alloc(5000, 2), Buffer.alloc(4500, 3)];
    const parts: Array<{ buffer: ArrayBufferLike; size: number; sum: number; range: string | undefined }> = [];
    const out = await uploadInParts(Readable.from(chunks), 4096, async (part, range) => {
      parts.push({
        buffer: part.buffer,
        size: part.length,
        sum: part.reduce((n, b) => n + b, 0),
        range: range?.contentRange,
      });
      return parts.length;
    });
    expect(out).toEqual({ result: 4, size: 12_500 });
    expect(parts.map((p) => [p.size, p.sum, p.range])).toEqual([
      [4096, 3000 * 1 + 1096 * 2, 'bytes 0-4095/-1'],
      [4096, 3904 * 2 + 192 * 3, 'bytes 4096-8191/-1'],
      [4096, 4096 * 3, 'bytes 8192-12287/-1'],
      [212, 212 * 3, 'bytes 12288-12499/12500'],
    ]);
    // One part buffer for the whole upload, none of the body's own chunks kept.
    expect(new Set(parts.map((p) => p.buffer)).size).toBe(1);
    expect(parts[0]?.buffer.byteLength).toBe(4096);
    for (const c of chunks) expect(parts[0]?.buffer).not.toBe(c.buffer);
  });

  it('awaits afterPart after each part but the last has its answer, before reading on', async () => {
    const { sent, send } = recorder();
    const seen: Array<{ stored: number; partsSent: number }> = [];
    const out = await uploadInParts(pieces('abc', 'defghij', 'k'), 4, send, async (stored) => {
      seen.push({ stored, partsSent: sent.length });
    });
    expect(out).toEqual({ result: 3, size: 11 });
    expect(seen).toEqual([
      { stored: 4, partsSent: 1 },
      { stored: 8, partsSent: 2 },
    ]);
  });

  it('stops at a failing part and destroys the body', async () => {
    const body = pieces('abcdefghij');
    let calls = 0;
    const failing = async (): Promise<never> => {
      calls += 1;
      throw new Error('part refused');
    };
    await expect(uploadInParts(body, 4, failing)).rejects.toThrow('part refused');
    expect(calls).toBe(1);
    expect(body.destroyed).toBe(true);
  });
});
