import { Transform } from 'node:stream';
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

/**
 * Whether an error is a decompression failure (zlib's `Z_*` codes or {@link ZstdDataError}), as opposed to bad
 * content.
 */
export function isDecompressError(err: unknown): boolean {
  if (err instanceof ZstdDataError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * A compressing stream for `kind` at the level `levels` give it. zstd frames carry their content
 * checksum (as gzip carries its CRC), so a damaged file fails to decompress instead of yielding other
 * bytes. Both codecs compress off the calling thread: gzip on libuv's pool, zstd on one worker thread
 * of its own (`nbWorkers: 1`; the binding's calls then only hand input over and collect output, and wait
 * only when that thread is behind), so the export's main thread keeps to reading rows and hashing.
 */
export function createCompressor(kind: Compression, levels: CompressionLevels): Transform {
  if (kind === 'gzip') return createGzip({ level: levels.gzipLevel });
  return new CompressStream({
    compressionLevel: levels.zstdLevel ?? 0,
    checksumFlag: true,
    nbWorkers: 1,
    jobSize: ZSTD_JOB_BYTES,
  });
}

/**
 * Input per job of zstd's compressing thread. Its default at level 3 (8 MB) held about 30 MB more in the worker
 * (buffers, and the export's check of the bytes as written inflating 8 MB at a time). Measured on the bench's
 * scale-1000 document recompressed alone: peak RSS 172 → 143 MB, 197 → 149 MB with the check, the file 1.8 %
 * larger; the bench's export itself: peak 206 → 180–192 MB, the file 253.3 → 253.6 MB (+0.1 %).
 */
const ZSTD_JOB_BYTES = 1024 * 1024;

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
 *
 * A plain Transform around the codec's own Transform (no async-generator Duplex): a damaged or cut
 * file fails the stream with the codec's error wherever it is found, including in the codec's flush
 * after the last input byte (a frame checksum, a gzip trailer), so a pipeline through it rejects and
 * never waits forever.
 */
export function decompressing(onDetect?: (kind: Compression | null) => void): Transform {
  return new Decompressing(onDetect);
}

class Decompressing extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private detected = false;
  private inner: Transform | null = null;
  private failed: Error | null = null;

  constructor(private readonly onDetect?: (kind: Compression | null) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.detected) {
      this.forward(chunk, done);
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < COMPRESSION_MAGIC_BYTES) {
      done();
      return;
    }
    this.forward(this.detect(), done);
  }

  override _flush(done: (err?: Error | null) => void): void {
    const start = this.detected ? null : this.detect();
    if (start && start.length > 0 && !this.inner) this.push(start);
    const inner = this.inner;
    if (!inner) {
      done();
      return;
    }
    const finish = (err?: Error | null) => {
      inner.off('end', onEnd);
      inner.off('error', finish);
      done(err ?? this.failed);
    };
    const onEnd = () => finish();
    inner.once('end', onEnd);
    inner.once('error', finish);
    if (this.failed) finish(this.failed);
    else if (start && start.length > 0) inner.end(start);
    else inner.end();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.inner?.destroy();
    done(err);
  }

  /** Names the codec from the bytes held so far; sets up its decompressor. Returns those bytes. */
  private detect(): Buffer {
    const start = Buffer.concat(this.head);
    this.head = [];
    this.detected = true;
    const kind = detectCompression(start);
    this.onDetect?.(kind);
    if (kind) {
      const inner = createDecompressor(kind);
      inner.on('data', (out: Buffer) => this.push(out));
      // The codec's error fails this stream (and so the pipeline), whenever it comes.
      inner.on('error', (err: Error) => {
        this.failed ??= err;
        this.destroy(err);
      });
      this.inner = inner;
    }
    return start;
  }

  /** Passes `chunk` on (through the codec when there is one); `done` once the codec has taken it. */
  private forward(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.failed) {
      done(this.failed);
      return;
    }
    if (!this.inner) {
      if (chunk.length > 0) this.push(chunk);
      done();
      return;
    }
    if (chunk.length === 0) {
      done();
      return;
    }
    this.inner.write(chunk, (err) => done(err ?? this.failed));
  }
}
