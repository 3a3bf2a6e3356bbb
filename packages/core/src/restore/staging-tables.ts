import type { Writable } from 'node:stream';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { quoteIdent } from '../backup-format/catalog.js';
import type { CopyColumn } from '../backup-format/copy-text.js';
import { invalidBackup, type Problem } from './problems.js';
import { copyFrozenFromStdin, createUnloggedTable, type SqlRunner } from '../sql/dialect.js';

const COPY_FORMAT = `WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
const NEWLINE = Buffer.from('\n');

/**
 * Drops a run's staging `schema` on `client`, the connection it staged on. After a `failed` run the connection is
 * rolled back first: a transaction left open or aborted would refuse the drop (or take it back with it), and the
 * schema would wait for the next start-up. A failed stage sends nothing after its failure
 * ({@link StagingTables.abandon}), so nothing of it can come after the ROLLBACK.
 * @throws the drop's error; callers decide whether to log it
 */
export async function dropStagingSchema(client: SqlRunner, schema: string, failed: unknown): Promise<void> {
  if (failed) await client.query('ROLLBACK').catch(() => {});
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
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
 * conversion of raw rows must undo; `copies`: the COPY streams that loaded it (2 for a big typed table).
 */
export type OnTableStaged = (
  key: BackupTableKey,
  rows: number,
  typed: boolean,
  taggedJson: boolean,
  copies: number,
) => void;

/**
 * A second connection for the COPY of big typed tables: their rows go to two COPY streams side by
 * side (two PostgreSQL backends parse and store them), from `minRows` rows in the file's
 * `metadata.recordCounts` on.
 */
export interface SecondCopy {
  client: pg.PoolClient;
  minRows: number;
  /**
   * Crash drills: awaited once, as soon as both streams of a split table have been written rows (both COPYs
   * are in progress).
   */
  whileSplit?: () => Promise<void>;
}

/** One COPY stream of the current table, and which of the table's rows it carried (to name a failing row). */
interface CopyStream {
  copy: Writable;
  /** Its COPY failed: nothing more is written to it, and its end is not awaited. */
  error?: Error;
  /** Rows written to this stream so far. */
  lines: number;
  /** Per piece written: the stream's line count before it, and the table's row index of its first row. */
  pieces: { line: number; row: number }[];
}

/**
 * The read was abandoned ({@link StagingTables.abandon}): what was still on its way stops at its next statement. Never
 * reaches the user: the error that failed the read is the one reported.
 */
class StagingAbandoned extends Error {
  constructor() {
    super('the staging was abandoned: the file read failed');
  }
}

/** Raw rows from the scanner as COPY lines (one JSON row per line). */
function rowLines(rows: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const row of rows) parts.push(row, NEWLINE);
  return Buffer.concat(parts);
}

/**
 * Writes the rows of each table of the file into its own staging table with one COPY, whatever
 * reader produced them: raw JSON rows into a {@link rawTable}, or, once {@link readTyped} is called,
 * typed COPY text into a {@link typedTable}. Tables this product does not have are skipped and
 * reported together by {@link finish}.
 */
export class StagingTables {
  /** Rows found per table, in file order. */
  readonly counts = new Map<BackupTableKey, number>();
  /** The table being copied, for errors that name it. */
  current: BackupTableKey | undefined;
  /** A typed table is being loaded in its own transaction (ROLLBACK it after a failure). */
  inTransaction = false;
  /** Live columns per table when the rows are typed (see {@link readTyped}). */
  private columns: Map<string, CopyColumn[]> | undefined;
  /** Rows per table the file's metadata promises (typed files), to pick the tables split over two streams. */
  private expected: Partial<Record<string, number>> = {};
  /** The current table's COPY streams: one, or two for a big typed table (see {@link SecondCopy}). */
  private streams: CopyStream[] = [];
  /** Rows of the current table written so far, over every stream. */
  private written = 0;
  /** Round robin between two streams. */
  private turn = 0;
  /** The stream whose COPY failed, to turn its line number into the table's row. */
  private failed: CopyStream | undefined;
  private skipping = false;
  /** `second.whileSplit` was called (once per file). */
  private splitReached = false;
  private readonly unknown: Problem[] = [];
  /** Set by {@link abandon}: no statement is sent from then on. */
  private abandoned = false;
  /**
   * The staging connection for every statement of the stage (the reader's too): each is refused once the read is
   * abandoned, so none can reach the connection after its owner has moved on (dropped the schema, given it back).
   */
  readonly runner: SqlRunner = {
    query: (text: string, values?: unknown[]) => {
      this.ensureLive();
      return this.client.query(text, values);
    },
  };

  constructor(
    private readonly client: pg.PoolClient,
    private readonly schema: string,
    private readonly onTable?: OnTableStaged,
    private readonly second?: SecondCopy,
  ) {}

  /** The rows go straight into typed tables (see {@link typedTable}). */
  get typed(): boolean {
    return this.columns !== undefined;
  }

  /**
   * From now on the rows are COPY text in the order of these live `columns` (per table key).
   * `expected`: the rows per table the file's metadata promises (only to pick the tables worth two streams).
   */
  readTyped(columns: Map<string, CopyColumn[]>, expected: Partial<Record<string, number>> = {}): void {
    this.columns = columns;
    this.expected = expected;
  }

  /**
   * The 0-based row of the current table that COPY's 1-based `line` (of the stream that failed)
   * stands for: with two streams, each carried every other piece of the table's rows.
   */
  rowOfLine(line: number): number {
    const stream = this.failed;
    if (!stream || this.streams.length < 2) return line - 1;
    let piece = stream.pieces[0];
    for (const p of stream.pieces) {
      if (p.line >= line) break;
      piece = p;
    }
    return piece ? piece.row + (line - 1 - piece.line) : line - 1;
  }

  /** Opens the COPY of table `key` (a name from the file: unknown ones are skipped). */
  async start(key: string): Promise<void> {
    const table = tableByKey(key);
    if (!table) {
      // The line reader only knows the tables of this product: unknown ones end in its error.
      this.unknown.push({ problem: `unknown table "data.${key}"` });
      this.skipping = true;
      return;
    }
    this.current = table.key;
    if (this.columns) {
      await this.startTyped(table.key, table.table, this.columns.get(table.key)!);
      return;
    }
    const name = rawTable(this.schema, table.key);
    // Unlogged: the raw rows are scratch; only the converted tables are swapped in. Text, not jsonb:
    // the JSON is parsed once, by the connection that converts the table, so the parsing of one
    // table overlaps with the reading of the next.
    await createUnloggedTable(
      this.runner,
      name,
      '__ord bigint GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START 0), doc text NOT NULL',
    );
    this.open(() => [this.client.query(copyStreams.from(`COPY ${name} (doc) FROM STDIN ${COPY_FORMAT}`))]);
  }

  /** Raw JSON rows of the current table, one per COPY line. */
  async writeRows(rows: Buffer[]): Promise<void> {
    if (!this.skipping) await this.toCopy(rowLines(rows), rows.length);
  }

  /** Typed COPY text of the current table: `rows` whole lines. */
  async writeText(data: Buffer, rows: number): Promise<void> {
    if (!this.skipping) await this.toCopy(data, rows);
  }

  /** Ends the current table's COPY (and its transaction), then reports it staged. */
  async end(count: number, taggedJson: boolean): Promise<void> {
    if (!this.skipping) {
      this.counts.set(this.current!, count);
      const copies = this.streams.length;
      await this.endCopy();
      if (this.inTransaction) {
        await this.runner.query('COMMIT');
        this.inTransaction = false;
      }
      this.onTable?.(this.current!, count, this.typed, taggedJson, copies);
    }
    this.skipping = false;
  }

  /**
   * The file is read: refuses it if it held unknown tables.
   * @throws AppError INVALID_BACKUP_FILE naming every unknown table
   */
  finish(): void {
    if (this.unknown.length > 0) throw invalidBackup(this.unknown);
  }

  /**
   * The read failed: abandons the COPY in progress (each stream sends CopyFail) and refuses every statement from now
   * on. A step of the stage still on its way (a `BEGIN`, a `CREATE TABLE`, a piece of rows) then stops at its next
   * statement instead of sending it after the caller's `ROLLBACK`, once the connection is dropped or back in its pool.
   * Statements already sent are queued on the connection ahead of anything the caller sends next.
   */
  abandon(): void {
    this.abandoned = true;
    for (const s of this.streams) s.copy.destroy();
  }

  private ensureLive(): void {
    if (this.abandoned) throw new StagingAbandoned();
  }

  /**
   * A table shaped like the live one, with no keys or indexes yet (they are built afterwards, on
   * another connection). Usually created in the transaction that loads it, so COPY can write its
   * rows frozen: no hint bits to set and nothing for autovacuum to do once it is swapped in.
   * A big table (see {@link SecondCopy}) is created first and loaded by two COPY streams, one per
   * connection, each its own transaction: two backends share the parsing, which is most of the
   * staging, at the price of FREEZE (its rows get their hint bits when the index builds read them).
   */
  private async startTyped(key: BackupTableKey, table: string, columns: CopyColumn[]): Promise<void> {
    const name = typedTable(this.schema, key);
    const create =
      `CREATE TABLE ${name} (LIKE public.${quoteIdent(table)} ` +
      'INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)';
    const list = columns.map((c) => quoteIdent(c.name)).join(', ');
    const split = this.second !== undefined && (this.expected[key] ?? 0) >= this.second.minRows;
    if (split) {
      await this.runner.query(create);
      const copy = `COPY ${name} (${list}) FROM STDIN WITH (FORMAT text)`;
      this.open(() => [this.client.query(copyStreams.from(copy)), this.second!.client.query(copyStreams.from(copy))]);
      return;
    }
    this.ensureLive();
    // Set as the BEGIN is sent, not once it is answered: a failure meanwhile must still be followed by a ROLLBACK.
    this.inTransaction = true;
    await this.client.query('BEGIN');
    await this.runner.query(create);
    this.open(() => [this.client.query(copyStreams.from(copyFrozenFromStdin(name, list)))]);
  }

  private open(copies: () => Writable[]): void {
    this.ensureLive();
    this.written = 0;
    this.turn = 0;
    this.failed = undefined;
    this.streams = copies().map((copy) => {
      const stream: CopyStream = { copy, lines: 0, pieces: [] };
      // Surfaced by write/endCopy (this handler only notes which stream failed, and avoids an unhandled 'error' event).
      copy.on('error', (err: Error) => {
        stream.error = err;
        this.failed ??= stream;
      });
      return stream;
    });
  }

  /**
   * Writes whole lines to a stream: with two, the next in turn, unless it is full and the other is
   * not (a backend that falls behind gets fewer pieces).
   */
  private async toCopy(data: Buffer, rows: number): Promise<void> {
    this.ensureLive();
    if (this.failed?.error) throw this.failed.error;
    let stream = this.streams[0]!;
    if (this.streams.length > 1) {
      stream = this.streams[this.turn]!;
      const other = this.streams[1 - this.turn]!;
      if (stream.copy.writableNeedDrain && !other.copy.writableNeedDrain) stream = other;
      this.turn = 1 - this.streams.indexOf(stream);
      stream.pieces.push({ line: stream.lines, row: this.written });
    }
    stream.lines += rows;
    this.written += rows;
    await this.write(stream.copy, data);
    if (this.second?.whileSplit && !this.splitReached && this.streams.every((s) => s.lines > 0)) {
      this.splitReached = this.streams.length > 1;
      if (this.splitReached) await this.second.whileSplit();
    }
  }

  private async write(copy: Writable, data: Buffer): Promise<void> {
    if (!copy.write(data)) await settled(copy, 'drain');
  }

  /** Ends the current table's streams; with two, both run to their end (or failure) before this settles. */
  private async endCopy(): Promise<void> {
    const ends = this.streams.map(({ copy, error }) => {
      if (error) return Promise.reject(error);
      const finished = settled(copy, 'finish');
      copy.end();
      return finished;
    });
    const outcomes = await Promise.allSettled(ends);
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
    this.streams = [];
  }
}

/**
 * Resolves on `event` ('drain' or 'finish'); rejects on the stream's error, or when it is (or was already) destroyed
 * without one: a COPY stream abandoned while a write waited for room would otherwise never answer.
 */
function settled(copy: Writable, event: 'drain' | 'finish'): Promise<void> {
  if (copy.destroyed) return Promise.reject(copy.errored ?? new StagingAbandoned());
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      copy.off(event, onEvent);
      copy.off('error', onError);
      copy.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onEvent = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(copy.errored ?? new StagingAbandoned());
    copy.once(event, onEvent);
    copy.once('error', onError);
    copy.once('close', onClose);
  });
}
