import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { MAX_ROW_BYTES, ScanError, type BackupScanner, type ScanEvent } from '../backup-format/json-scanner.js';
import type { BackupTableKey } from '../backup-format/tables.js';
import { RowShapeError } from '../backup-format/copy-text.js';
import type { LineEvent, LineReader } from '../backup-format/line-reader.js';
import { Sha256Tally, tallied } from '../crypto/sha256.js';
import { isAppError } from '../errors.js';
import { readMetadata, type BackupMetadata } from '../backup-format/metadata.js';
import { tagsJsonValues } from '../backup-format/json-values.js';
import {
  createDecompressor,
  detectCompression,
  isDecompressError,
  COMPRESSION_MAGIC_BYTES,
  type Compression,
} from '../backup-format/compression.js';
import { invalidBackup } from './problems.js';
import { ReaderChoice } from './choose-reader.js';
import { StagingTables, type OnTableStaged, type SecondCopy } from './staging-tables.js';

/**
 * Bounds on what a file may inflate to. A gzip or zstd bomb (a few MB expanding to GBs of whitespace or of
 * one endless string) is refused early instead of costing minutes of CPU or the worker's memory.
 * JSON backups compress about 5 to 20 times; 100 leaves room for hand-written, indented files.
 */
export interface StageLimits {
  /** Inflated bytes may exceed `maxInflateRatio` × the stored bytes read so far once past `inflateSlackBytes`. */
  maxInflateRatio: number;
  inflateSlackBytes: number;
  /** Largest single row (raw reading); the typed reading has its own line cap. */
  maxRowBytes: number;
}

export const DEFAULT_STAGE_LIMITS: StageLimits = {
  maxInflateRatio: 100,
  inflateSlackBytes: 64 * 1024 * 1024,
  maxRowBytes: MAX_ROW_BYTES,
};

/** Thrown by the inflate guard; becomes an INVALID_BACKUP_FILE problem. */
class InflateLimitError extends Error {}

/** A decompression failure of a file whose first bytes named `kind`; becomes an INVALID_BACKUP_FILE problem. */
class DecompressFailure extends Error {
  constructor(readonly kind: Compression) {
    super(`the file looks like ${kind} but does not decompress`);
  }
}

export interface StagedFile {
  metadata: BackupMetadata;
  /** Rows found per table, in file order. */
  counts: Map<BackupTableKey, number>;
  /** SHA-256 of the bytes as stored (before decompression). */
  sha256: string;
  bytes: number;
}

/**
 * Streams a backup file into tables of the staging `schema` on `client`, one of two ways:
 * - typed: a file laid out as this product writes it whose metadata `opts.typed` accepts (a stored
 *   backup of ours at the current schema). Its lines are split and each row converted to COPY text
 *   in the worker (`LineReader`, `CopyTextEncoder`), then copied straight into a table shaped like
 *   the live one (`typedTable`).
 * - raw: any other file (uploads, the original seed format, older schemas). The structural scanner
 *   hands each row's JSON over untouched, into an unlogged table (`rawTable`: `__ord` in file
 *   order from 0, `doc` as text) that `planTable` converts on another connection.
 *
 * `onTable` is called as soon as a table's rows are all in, so its conversion or indexing can start
 * on another connection while the file is still read. The file is read once: the checksum is
 * computed on the way and gzip or zstd is detected by its magic bytes (never by name or record).
 * Structural problems, unknown tables and a metadata version this service cannot read end in `INVALID_BACKUP_FILE` /
 * `UNSUPPORTED_BACKUP_VERSION` with the place of the first problem.
 */
export async function stageFile(
  client: pg.PoolClient,
  source: Readable,
  opts: {
    schema: string;
    onBytes?: (bytes: number) => void;
    onTable?: OnTableStaged;
    /**
     * Whether the rows of a file with this metadata may go straight into typed tables (see
     * `CopyTextEncoder`): only for files this product wrote at the current schema.
     */
    typed?: (metadata: BackupMetadata | undefined) => boolean;
    limits?: StageLimits;
    /** Big typed tables are loaded over this second connection too (see `SecondCopy`). */
    second?: SecondCopy;
    /**
     * False when the caller hashes the stored bytes already (a restore: `openSource` does, on the way
     * in): the bytes are then only counted, and `sha256` is left empty. Default true.
     */
    hash?: boolean;
  },
): Promise<StagedFile> {
  const limits = opts.limits ?? DEFAULT_STAGE_LIMITS;
  const { onBytes } = opts;
  // Hash and count the stored bytes on their way in.
  const tally = opts.hash === false ? new ByteCount() : new Sha256Tally();
  // `tallied` only adds chunks and reads `bytes`, which a ByteCount does too.
  const tapped = tallied(source as AsyncIterable<Buffer>, tally as Sha256Tally, onBytes);
  const head: Buffer[] = [];
  let headBytes = 0;
  while (headBytes < COMPRESSION_MAGIC_BYTES) {
    const next = await tapped.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    head.length = 0;
    yield* tapped;
  }
  const raw = Readable.from(all(), { objectMode: false });
  const tables = new StagingTables(client, opts.schema, opts.onTable, opts.second);
  const sink = new StagingSink(new ReaderChoice(tables.runner, opts.typed, limits.maxRowBytes), tables);
  let inflated = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _enc, done) {
      inflated += chunk.length;
      if (inflated > limits.inflateSlackBytes && inflated > limits.maxInflateRatio * tally.bytes) {
        return done(
          new InflateLimitError(
            `the ${compression} data inflates more than ${limits.maxInflateRatio} times ` +
              `(${inflated} bytes from ${tally.bytes}); refused as a likely ${compression} bomb`,
          ),
        );
      }
      done(null, chunk);
    },
  });
  try {
    if (compression) await pipeline(raw, createDecompressor(compression), guard, sink);
    else await pipeline(raw, sink);
  } catch (err) {
    // The sink is destroyed, so the stage sends nothing more (`StagingTables.abandon`). A typed table is loaded in its
    // own transaction: ended here, after whatever the stage sent before.
    if (tables.inTransaction) await client.query('ROLLBACK').catch(() => {});
    throw toFileError(compression && isDecompressError(err) ? new DecompressFailure(compression) : err, tables);
  }
  if (!sink.metadata) throw invalidBackup([{ problem: 'the file has no "metadata" object' }]);
  return { metadata: sink.metadata, counts: tables.counts, ...tally.result() };
}

/** Counts the bytes going by, like `Sha256Tally`, without hashing them. */
class ByteCount {
  bytes = 0;
  add(chunk: Buffer): void {
    this.bytes += chunk.length;
  }
  result(): { sha256: string; bytes: number } {
    return { sha256: '', bytes: this.bytes };
  }
}

function toFileError(err: unknown, tables: StagingTables): Error {
  if (isAppError(err)) return err;
  if (err instanceof ScanError || err instanceof InflateLimitError || err instanceof DecompressFailure)
    return invalidBackup([{ problem: err.message }]);
  if (err instanceof RowShapeError)
    return invalidBackup([
      { table: err.table ?? tables.current, row: err.row, field: err.field, problem: err.message },
    ]);
  const e = err as { code?: string; message?: string; where?: string; detail?: string };
  if (e && typeof e.code === 'string' && /^(22|23)/.test(e.code) && tables.current) {
    // COPY reports the 1-based line of the bad row in its stream: rows are one per line (`rowOfLine`).
    const where = /COPY [^,]+, line (\d+)(?:, column ([^:]+))?/.exec(e.where ?? '');
    const reason = `${e.message}${e.detail ? `: ${e.detail}` : ''}`;
    return invalidBackup([
      {
        table: tables.current,
        row: where ? tables.rowOfLine(Number(where[1])) : undefined,
        field: tables.typed ? where?.[2] : undefined,
        problem: tables.typed ? `the value does not fit the column (${reason})` : `not valid JSON (${reason})`,
      },
    ]);
  }
  return err as Error;
}

/**
 * The file's bytes in, staging tables out: its first line picks the reader ({@link ReaderChoice}),
 * whose events become COPY into the staging tables ({@link StagingTables}).
 */
class StagingSink extends Writable {
  metadata: BackupMetadata | undefined;
  /** The file's json values are tagged; until its metadata says otherwise, a file is read as 1.0. */
  private taggedJson = false;
  private reader: BackupScanner | LineReader | undefined;

  constructor(
    private readonly choice: ReaderChoice,
    private readonly tables: StagingTables,
  ) {
    super({ highWaterMark: 1 << 16 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.consume(chunk).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    (async () => {
      if (!this.reader) await this.choose();
      await this.handle(this.reader!.end());
      this.tables.finish();
    })().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // A write may still be on its way (awaiting PostgreSQL): from here on it sends nothing more.
    this.tables.abandon();
    done(err);
  }

  private async consume(chunk: Buffer): Promise<void> {
    if (!this.reader) {
      if (this.choice.add(chunk)) await this.choose();
      return;
    }
    await this.handle(this.reader.push(chunk));
  }

  private async choose(): Promise<void> {
    const chosen = await this.choice.choose();
    this.reader = chosen.reader;
    if (chosen.typed) {
      this.metadata = chosen.metadata;
      this.taggedJson = chosen.taggedJson;
      this.tables.readTyped(chosen.columns, chosen.metadata.recordCounts ?? {});
    }
    await this.handle(chosen.events);
  }

  private async handle(events: Array<ScanEvent | LineEvent>): Promise<void> {
    for (const e of events) {
      // Destroyed while the previous event awaited PostgreSQL: the failure is already reported.
      if (this.destroyed) return;
      switch (e.type) {
        case 'metadata':
          this.metadata = readMetadata(e.value);
          this.taggedJson = tagsJsonValues(this.metadata.version);
          if (this.taggedJson && this.tables.counts.size > 0) {
            // Tables already staged were read as untagged (1.0): their json values would be wrong.
            throw invalidBackup([
              { problem: `in a file of format ${this.metadata.version}, "metadata" must come before "data"` },
            ]);
          }
          break;
        case 'tableStart':
          await this.tables.start(e.key);
          break;
        case 'rows':
          await this.tables.writeRows(e.rows);
          break;
        case 'copyText':
          await this.tables.writeText(e.data, e.rows);
          break;
        case 'tableEnd':
          await this.tables.end(e.count, this.taggedJson);
          break;
      }
    }
  }
}
