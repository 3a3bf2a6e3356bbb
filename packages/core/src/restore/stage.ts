import { createHash } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { BackupScanner, MAX_ROW_BYTES, ScanError, type ScanEvent } from '../backup-format/json-scanner.js';
import { BACKUP_TABLES, tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { isJsonColumn, quoteIdent, readColumns } from '../backup-format/catalog.js';
import { RowShapeError, type CopyColumn } from '../backup-format/copy-text.js';
import { LineReader, ourLayoutMetadata, type LineEvent } from '../backup-format/line-reader.js';
import { isAppError } from '../errors.js';
import { readMetadata, type BackupMetadata } from '../backup-format/metadata.js';
import { tagsJsonValues } from '../backup-format/json-values.js';
import { invalidBackup, type Problem } from './problems.js';

const COPY_FORMAT = `WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
const NEWLINE = Buffer.from('\n');
const NEWLINE_BYTE = 0x0a;
/** Past this many bytes without a newline, the file is not laid out as this product writes it. */
const MAX_FIRST_LINE = 4 * 1024 * 1024;

/**
 * Decompressed pieces. zlib's 16 KB default costs about three times the CPU of 256 KB pieces
 * (10.2 s against 3.5 s for a 1.2 GB file here): most of it is per-piece overhead.
 */
const GUNZIP_CHUNK = 256 * 1024;

/**
 * Bounds on what a file may inflate to. A gzip bomb (a few MB expanding to GBs of whitespace or of
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

export const DEFAULT_STAGE_LIMITS: StageLimits = { maxInflateRatio: 100, inflateSlackBytes: 64 * 1024 * 1024, maxRowBytes: MAX_ROW_BYTES };

/** Thrown by the inflate guard; becomes an INVALID_BACKUP_FILE problem. */
class InflateLimitError extends Error {}

/** Raw rows from the scanner as COPY lines (one JSON row per line). */
function rowLines(rows: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const row of rows) parts.push(row, NEWLINE);
  return Buffer.concat(parts);
}

export interface StagedFile {
  metadata: BackupMetadata;
  /** Rows found per table, in file order. */
  counts: Map<BackupTableKey, number>;
  /** SHA-256 of the bytes as stored (before decompression). */
  sha256: string;
  bytes: number;
}

/** Name of the staging table that holds a table's raw rows (`__ord`, `doc` as JSON text). */
export function rawTable(schema: string, key: BackupTableKey): string {
  return `${quoteIdent(schema)}.${quoteIdent(`raw_${key}`)}`;
}

/** Name of the staged table that takes a table's typed rows (the live name, in the staging schema). */
export function typedTable(schema: string, key: BackupTableKey): string {
  return `${quoteIdent(schema)}.${quoteIdent(tableByKey(key)!.table)}`;
}

/**
 * Called when a table's rows are all in: `typed` when they went straight into {@link typedTable};
 * `taggedJson` when the file's json values are tagged (format 1.1, `tagsJsonValues`), which the
 * conversion of raw rows must undo.
 */
export type OnTableStaged = (key: BackupTableKey, rows: number, typed: boolean, taggedJson: boolean) => void;

/**
 * Streams a backup file into tables of the staging `schema` on `client`, one of two ways:
 * - typed: a file laid out as this product writes it whose metadata `opts.typed` accepts (a stored
 *   backup of ours at the current schema). Its lines are split and each row converted to COPY text
 *   in the worker (`LineReader`, `CopyTextEncoder`), then copied straight into a table shaped like
 *   the live one ({@link typedTable}).
 * - raw: any other file (uploads, the original seed format, older schemas). The structural scanner
 *   hands each row's JSON over untouched, into an unlogged table ({@link rawTable}: `__ord` in file
 *   order from 0, `doc` as text) that `planTable` converts on another connection.
 *
 * `onTable` is called as soon as a table's rows are all in, so its conversion or indexing can start
 * on another connection while the file is still read. The file is read once: the checksum is
 * computed on the way and gzip is detected by its magic bytes. Structural problems, unknown tables
 * and a metadata version this service cannot read end in `INVALID_BACKUP_FILE` /
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
  },
): Promise<StagedFile> {
  const limits = opts.limits ?? DEFAULT_STAGE_LIMITS;
  const { onBytes } = opts;
  const hash = createHash('sha256');
  let bytes = 0;
  // Hash and count the stored bytes on their way in.
  async function* tap(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      yield chunk;
    }
  }
  const tapped = tap();
  const first = await tapped.next();
  const gzipped = !first.done && first.value[0] === 0x1f && first.value[1] === 0x8b;
  async function* all(): AsyncGenerator<Buffer> {
    if (!first.done) yield first.value;
    yield* tapped;
  }
  const raw = Readable.from(all(), { objectMode: false });
  const sink = new StagingSink(client, opts.schema, opts.onTable, opts.typed, limits.maxRowBytes);
  let inflated = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _enc, done) {
      inflated += chunk.length;
      if (inflated > limits.inflateSlackBytes && inflated > limits.maxInflateRatio * bytes) {
        return done(new InflateLimitError(`the gzip data inflates more than ${limits.maxInflateRatio} times (${inflated} bytes from ${bytes}); refused as a likely gzip bomb`));
      }
      done(null, chunk);
    },
  });
  try {
    if (gzipped) await pipeline(raw, createGunzip({ chunkSize: GUNZIP_CHUNK }), guard, sink);
    else await pipeline(raw, sink);
  } catch (err) {
    // A typed table is loaded in its own transaction; end it so the connection can clean up.
    if (sink.inTransaction) await client.query('ROLLBACK').catch(() => {});
    throw toFileError(err, sink);
  }
  if (!sink.metadata) throw invalidBackup([{ problem: 'the file has no "metadata" object' }]);
  return { metadata: sink.metadata, counts: sink.counts, sha256: hash.digest('hex'), bytes };
}

function toFileError(err: unknown, sink: StagingSink): Error {
  if (isAppError(err)) return err;
  if (err instanceof ScanError || err instanceof InflateLimitError) return invalidBackup([{ problem: err.message }]);
  if (err instanceof RowShapeError) return invalidBackup([{ table: err.table ?? sink.currentTable, row: err.row, field: err.field, problem: err.message }]);
  const e = err as { code?: string; message?: string; where?: string; detail?: string };
  if (e && typeof e.code === 'string' && /^(22|23)/.test(e.code) && sink.currentTable) {
    // COPY reports the 1-based line of the bad row: rows are one per line, so line n is row n-1.
    const where = /COPY [^,]+, line (\d+)(?:, column ([^:]+))?/.exec(e.where ?? '');
    const reason = `${e.message}${e.detail ? `: ${e.detail}` : ''}`;
    return invalidBackup([
      {
        table: sink.currentTable,
        row: where ? Number(where[1]) - 1 : undefined,
        field: sink.typed ? where?.[2] : undefined,
        problem: sink.typed ? `the value does not fit the column (${reason})` : `not valid JSON (${reason})`,
      },
    ]);
  }
  if ((err as { code?: string })?.code === 'Z_DATA_ERROR' || (err as { code?: string })?.code === 'Z_BUF_ERROR') {
    return invalidBackup([{ problem: 'the file looks like gzip but does not decompress' }]);
  }
  return err as Error;
}

/**
 * Feeds each table's rows to its own COPY. The first line decides how the file is read: a file laid
 * out as this product writes it, whose metadata `allowTyped` accepts, goes through the
 * {@link LineReader} straight into typed tables; any other file through the structural scanner into
 * raw tables, converted afterwards by `planTable`.
 */
class StagingSink extends Writable {
  readonly counts = new Map<BackupTableKey, number>();
  metadata: BackupMetadata | undefined;
  currentTable: BackupTableKey | undefined;
  /** The rows go straight into typed tables (see `typedTable`). */
  typed = false;
  /** The file's json values are tagged; until its metadata says otherwise, a file is read as 1.0. */
  private taggedJson = false;
  inTransaction = false;
  private reader: BackupScanner | LineReader | undefined;
  /** Live columns per table, for typed reading (see `typedColumns`). */
  private readonly columns = new Map<string, CopyColumn[]>();
  private head: Buffer[] = [];
  private headBytes = 0;
  private copy: Writable | undefined;
  private skipping = false;
  private unknown: Problem[] = [];

  constructor(
    private readonly client: pg.PoolClient,
    private readonly schema: string,
    private readonly onTable?: OnTableStaged,
    private readonly allowTyped?: (metadata: BackupMetadata | undefined) => boolean,
    private readonly maxRowBytes = MAX_ROW_BYTES,
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
      if (this.unknown.length > 0) throw invalidBackup(this.unknown);
    })().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.copy?.destroy();
    done(err);
  }

  private async consume(chunk: Buffer): Promise<void> {
    if (!this.reader) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      // Decide once the first line is in (or the metadata is too long to be ours).
      if (chunk.indexOf(NEWLINE_BYTE) < 0 && this.headBytes < MAX_FIRST_LINE) return;
      await this.choose();
      return;
    }
    await this.handle(this.reader.push(chunk));
  }

  /** Picks the reader from the first line, then gives it what has been read so far. */
  private async choose(): Promise<void> {
    const head = Buffer.concat(this.head);
    this.head = [];
    const nl = head.indexOf(NEWLINE_BYTE);
    const raw = nl >= 0 ? ourLayoutMetadata(head.subarray(0, nl).toString('utf8')) : undefined;
    let metadata: BackupMetadata | undefined;
    if (raw !== undefined) {
      metadata = readMetadata(raw);
      if (!this.allowTyped?.(metadata)) metadata = undefined;
    }
    if (metadata) {
      this.metadata = metadata;
      this.typed = true;
      this.taggedJson = tagsJsonValues(metadata.version);
      const columns = await this.typedColumns();
      this.reader = new LineReader((key) => columns.get(key), nl + 1, { taggedJson: this.taggedJson });
      await this.handle(this.reader.push(head.subarray(nl + 1)));
    } else {
      this.reader = new BackupScanner(this.maxRowBytes);
      await this.handle(this.reader.push(head));
    }
  }

  /**
   * The live columns of every table a backup can hold, read once: the line reader checks each row
   * against them, and each typed table's COPY lists them in the same order.
   */
  private async typedColumns(): Promise<Map<string, CopyColumn[]>> {
    for (const t of BACKUP_TABLES) {
      const live = await readColumns(this.client, t.table);
      this.columns.set(t.key, live.map((c) => ({ name: c.name, json: isJsonColumn(c) })));
    }
    return this.columns;
  }

  private async handle(events: Array<ScanEvent | LineEvent>): Promise<void> {
    for (const e of events) {
      switch (e.type) {
        case 'metadata':
          this.metadata = readMetadata(e.value);
          this.taggedJson = tagsJsonValues(this.metadata.version);
          if (this.taggedJson && this.counts.size > 0) {
            // Tables already staged were read as untagged (1.0): their json values would be wrong.
            throw invalidBackup([{ problem: `in a file of format ${this.metadata.version}, "metadata" must come before "data"` }]);
          }
          break;
        case 'tableStart':
          await this.startTable(e.key);
          break;
        case 'rows':
          if (!this.skipping) await this.toCopy(rowLines(e.rows));
          break;
        case 'copyText':
          await this.toCopy(e.data);
          break;
        case 'tableEnd':
          if (!this.skipping) {
            this.counts.set(this.currentTable!, e.count);
            await this.endCopy();
            if (this.inTransaction) {
              await this.client.query('COMMIT');
              this.inTransaction = false;
            }
            this.onTable?.(this.currentTable!, e.count, this.typed, this.taggedJson);
          }
          this.skipping = false;
          break;
      }
    }
  }

  private async startTable(key: string): Promise<void> {
    const table = tableByKey(key);
    if (!table) {
      // The line reader only knows the tables of this product: unknown ones end in its error.
      this.unknown.push({ problem: `unknown table "data.${key}"` });
      this.skipping = true;
      return;
    }
    this.currentTable = table.key;
    if (this.typed) {
      await this.startTypedTable(table.key, table.table);
      return;
    }
    const name = rawTable(this.schema, table.key);
    // Unlogged: the raw rows are scratch; only the converted tables are swapped in. Text, not jsonb:
    // the JSON is parsed once, by the connection that converts the table, so the parsing of one
    // table overlaps with the reading of the next.
    await this.client.query(
      `CREATE UNLOGGED TABLE ${name} (__ord bigint GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START 0), doc text NOT NULL)`,
    );
    this.copy = this.client.query(copyStreams.from(`COPY ${name} (doc) FROM STDIN ${COPY_FORMAT}`));
    this.copy.on('error', () => {}); // surfaced by write/endCopy; avoids an unhandled 'error' event
  }

  /**
   * A table shaped like the live one, created in the transaction that loads it, so COPY can write
   * its rows frozen: no hint bits to set and nothing for autovacuum to do once it is swapped in.
   * No keys or indexes yet: they are built afterwards, on another connection.
   */
  private async startTypedTable(key: BackupTableKey, table: string): Promise<void> {
    const name = typedTable(this.schema, key);
    await this.client.query('BEGIN');
    this.inTransaction = true;
    await this.client.query(
      `CREATE TABLE ${name} (LIKE public.${quoteIdent(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)`,
    );
    const list = this.columns.get(key)!.map((c) => quoteIdent(c.name)).join(', ');
    this.copy = this.client.query(copyStreams.from(`COPY ${name} (${list}) FROM STDIN WITH (FORMAT text, FREEZE)`));
    this.copy.on('error', () => {}); // surfaced by write/endCopy; avoids an unhandled 'error' event
  }

  private async toCopy(data: Buffer): Promise<void> {
    const copy = this.copy!;
    if (!copy.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => {
          copy.off('drain', onDrain);
          reject(err);
        };
        const onDrain = () => {
          copy.off('error', onError);
          resolve();
        };
        copy.once('drain', onDrain);
        copy.once('error', onError);
      });
    }
  }

  private async endCopy(): Promise<void> {
    const copy = this.copy!;
    this.copy = undefined;
    await new Promise<void>((resolve, reject) => {
      copy.once('finish', resolve);
      copy.once('error', reject);
      copy.end();
    });
  }
}

