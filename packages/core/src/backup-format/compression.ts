import { Duplex, pipeline, Readable, Transform } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { CompressStream } from 'zstd-napi';
import zstd from 'zstd-napi/binding.js';

/** How a backup file past the compression threshold is compressed. gzip is the default, the seed's format. */
export const COMPRESSIONS = ['gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Levels of each codec (config `GZIP_LEVEL`, `ZSTD_LEVEL`); without `zstdLevel`, zstd's own default (3). */
export interface CompressionLevels {
  gzipLevel: number;
  zstdLevel?: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
/** Bytes needed to tell the codecs apart. */
export const COMPRESSION_MAGIC_BYTES = ZSTD_MAGIC.length;

/** Stored extension of a compressed file (an encrypted one adds `.enc`). */
export const COMPRESSED_EXTENSIONS: Record<Compression, string> = { gzip: '.json.gz', zstd: '.json.zst' };

/** Decompressed pieces: zlib's 16 KB default costs about three times the CPU of 256 KB pieces. */
const OUTPUT_CHUNK = 256 * 1024;

/**
 * The codec of a file from its first bytes (after decryption): gzip (1f 8b), zstd (28 b5 2f fd) or
 * null (plain JSON, or anything else). Readers decide by these bytes, never by a name or a record.
 * Trap: give it at least {@link COMPRESSION_MAGIC_BYTES} bytes unless the file is shorter.
 */
export function detectCompression(head: Uint8Array): Compression | null {
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  if (ZSTD_MAGIC.every((b, i) => head[i] === b)) return 'zstd';
  return null;
}

/** Thrown (emitted) by a zstd decompressor for data that does not decompress. */
export class ZstdDataError extends Error {
  readonly code = 'ZSTD_DATA_ERROR';
}

/** Whether an error is a decompression failure (zlib's `Z_*` codes or {@link ZstdDataError}), as opposed to bad content. */
export function isDecompressError(err: unknown): boolean {
  if (err instanceof ZstdDataError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * A compressing stream for `kind` at the level `levels` give it. zstd frames carry their content
 * checksum (as gzip carries its CRC), so a damaged file fails to decompress instead of yielding other
 * bytes. Trap: zstd runs on the calling thread (the binding is synchronous), gzip on libuv's pool.
 */
export function createCompressor(kind: Compression, levels: CompressionLevels): Transform {
  if (kind === 'gzip') return createGzip({ level: levels.gzipLevel });
  return new CompressStream({ compressionLevel: levels.zstdLevel ?? 0, checksumFlag: true });
}

/** A zstd file may inflate to this many times its compressed bytes, once past {@link ZSTD_INFLATE_SLACK}. */
const ZSTD_MAX_INFLATE_RATIO = 100;
const ZSTD_INFLATE_SLACK = 64 * 1024 * 1024;

/**
 * zstd decompression as a Transform (errors and teardown behave as zlib's). zstd-napi's own
 * DecompressStream inflates a whole input chunk at once, so a few KB of crafted input (RLE blocks)
 * could fill memory before any guard downstream saw a byte: this one refuses, while it inflates, data
 * growing more than {@link ZSTD_MAX_INFLATE_RATIO} times past {@link ZSTD_INFLATE_SLACK}.
 */
class ZstdDecompress extends Transform {
  private readonly dctx = new zstd.DCtx();
  private inFrame = false;
  private bytesIn = 0;
  private bytesOut = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      this.bytesIn += chunk.length;
      let src = chunk;
      for (;;) {
        const dst = Buffer.allocUnsafe(OUTPUT_CHUNK);
        let ret: number, produced: number, consumed: number;
        try {
          [ret, produced, consumed] = this.dctx.decompressStream(dst, src);
        } catch (err) {
          throw new ZstdDataError(`the zstd data does not decompress (${(err as Error).message})`);
        }
        src = src.subarray(consumed);
        this.bytesOut += produced;
        if (this.bytesOut > ZSTD_INFLATE_SLACK && this.bytesOut > ZSTD_MAX_INFLATE_RATIO * this.bytesIn) {
          throw new ZstdDataError(
            `the zstd data inflates more than ${ZSTD_MAX_INFLATE_RATIO} times; refused as a likely zstd bomb`,
          );
        }
        if (produced > 0) this.push(dst.subarray(0, produced));
        if (src.length === 0 && (produced < dst.length || ret === 0)) {
          this.inFrame = ret !== 0;
          break;
        }
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: (err?: Error | null) => void): void {
    if (this.inFrame || this.bytesIn === 0)
      done(new ZstdDataError('the zstd data ends in the middle of a frame (the file is cut short)'));
    else done();
  }
}

/** A decompressing stream for `kind`. */
export function createDecompressor(kind: Compression): Transform {
  if (kind === 'gzip') return createGunzip({ chunkSize: OUTPUT_CHUNK });
  return new ZstdDecompress();
}

/**
 * Decompresses whatever its first bytes say (gzip, zstd) and passes anything else through
 * untouched; `onDetect` hears the codec (or null) before the first byte comes out. Streams: memory
 * stays flat, and a consumer that stops early releases the source.
 */
export function decompressing(onDetect?: (kind: Compression | null) => void): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    const it = source[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    while (headBytes < COMPRESSION_MAGIC_BYTES) {
      const next = await it.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.length;
    }
    const start = Buffer.concat(head);
    const kind = detectCompression(start);
    onDetect?.(kind);
    async function* rest(): AsyncGenerator<Buffer> {
      if (start.length > 0) yield start;
      if (ended) return;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    }
    if (!kind) {
      yield* rest();
      return;
    }
    // pipeline() carries an error either way: the source's into the decompressor, and a consumer's stop back to the source.
    yield* pipeline(
      Readable.from(rest(), { objectMode: false }),
      createDecompressor(kind),
      () => {},
    ) as AsyncIterable<Buffer>;
  });
}
