import { CopyTextEncoder, RowShapeError, type CopyColumn, type CopyTextOptions } from './copy-text.js';
import { ScanError } from './json-scanner.js';
import { CLOSE_BRACKET, COMMA, NEWLINE } from './bytes.js';

/**
 * What {@link LineReader} hands over: a table's rows as COPY text (see `CopyTextEncoder`), between
 * the start and the end of the table.
 */
export type LineEvent =
  | { type: 'tableStart'; key: string }
  | { type: 'copyText'; key: string; data: Buffer; rows: number }
  | { type: 'tableEnd'; key: string; count: number };

/** COPY text is handed over in pieces of about this many bytes. */
const FLUSH_AT = 128 * 1024;
/** Longest line accepted: a row of this schema is a few KB; this bounds memory on a damaged file. */
export const MAX_LINE = 64 * 1024 * 1024;
const EMPTY: Buffer = Buffer.alloc(0);
const FIRST_LINE = /^\{"metadata":(\{.*\}),$/;
const TABLE_LINE = /^"([A-Za-z][A-Za-z0-9_]*)":\[$/;

/**
 * Where a reader of this product's layout stands, after the metadata line: before `"data":{`, before a
 * table header (or the closing `}}` of a document without tables), before a table's first row, among its
 * rows, after the last table, or at the end.
 */
export type LayoutState = 'data' | 'table' | 'firstRow' | 'rows' | 'end' | 'done';

/** What a line that is not a row leads to: the next state, and the table's key after a table header line. */
export interface LayoutStep {
  state: LayoutState;
  key?: string;
}

/**
 * The one definition of this product's layout around the rows (see {@link LineReader}), shared by the
 * restore's reader and the read-back's checker. For a line that is not a row in `state` (among a
 * table's rows, only its closing `]` or `],`), the step it makes, or what is wrong with it.
 * `tables` is how many tables came before: `}}` right after `"data":{` is a document without tables.
 * A table header does not check its key against earlier ones: the caller knows the tables it has seen.
 */
export function layoutStep(state: LayoutState, line: string, tables: number): LayoutStep | string {
  switch (state) {
    case 'data':
      return line === '"data":{' ? { state: 'table' } : '"data":{ expected';
    case 'table': {
      const key = TABLE_LINE.exec(line)?.[1];
      if (key !== undefined) return { state: 'firstRow', key };
      return line === '}}' && tables === 0 ? { state: 'done' } : 'a table ("<name>":[) expected';
    }
    case 'firstRow':
    case 'rows':
      if (line === ']') return { state: 'end' };
      return line === '],' ? { state: 'table' } : '"]" or "]," expected at the end of a table';
    case 'end':
      return line === '}}' ? { state: 'done' } : '}} expected after the last table';
    default:
      return 'nothing expected after the end of the document';
  }
}

/**
 * What is wrong with a row line whose first byte is `first` (`,` before every row but a table's first),
 * or null. Only for a line that is a row: one that starts with `]` closes the table ({@link layoutStep}).
 */
export function rowLineProblem(state: 'firstRow' | 'rows', first: number | undefined): string | null {
  if ((first === COMMA) === (state === 'rows')) return null;
  return state === 'rows' ? 'a row must start with ","' : 'the first row of a table must not start with ","';
}

/**
 * The metadata of a file laid out as this product writes it (`{"metadata":{…},` alone on the first
 * line), or undefined for any other first line.
 */
export function ourLayoutMetadata(firstLine: string): unknown {
  const json = FIRST_LINE.exec(firstLine)?.[1];
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/**
 * Reads the rest of a backup file laid out as this product writes it, after its metadata line:
 *
 * ```
 * "data":{
 * "users":[
 * {…row…}
 * ,{…row…}
 * ],
 * "unions":[
 * ]
 * }}
 * ```
 *
 * Splitting on newlines replaces a structural scan, and each row is converted to COPY text for its
 * table's columns on the way. Any other layout is an error: this reader is only used for files this
 * product wrote (the caller checks their checksum), so a difference means the file is damaged.
 */
export class LineReader {
  private state: LayoutState = 'data';
  private rest = EMPTY;
  private pendingRows = 0;
  private line = 1; // the metadata line has been read
  private offset: number;
  private key = '';
  private readonly seen = new Set<string>();
  private encoder: CopyTextEncoder | undefined;

  constructor(
    private readonly columns: (key: string) => CopyColumn[] | undefined,
    /** Bytes already read (the metadata line), so error positions are file offsets. */
    offset: number,
    /** From the file's format version (`tagsJsonValues`). */
    private readonly options: CopyTextOptions,
  ) {
    this.offset = offset;
  }

  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    if (this.rest.length > 0) {
      // Only the line that spans the two pieces is copied.
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.keep(Buffer.concat([this.rest, chunk]));
        return events;
      }
      const line = Buffer.concat([this.rest, chunk.subarray(0, nl)]);
      this.rest = EMPTY;
      this.lineAt(line, 0, line.length, events);
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.lineAt(chunk, start, nl, events);
      start = nl + 1;
    }
    this.flush(events);
    // Copied, so the piece it came from is not kept alive.
    this.keep(Buffer.from(chunk.subarray(start)));
    return events;
  }

  private keep(rest: Buffer): void {
    if (rest.length > MAX_LINE) this.fail(`a line longer than ${MAX_LINE} bytes`);
    this.rest = rest;
  }

  /** Handles the line `data[start, end)` (its newline excluded). */
  private lineAt(data: Buffer, start: number, end: number, events: LineEvent[]): void {
    this.line++;
    if (this.state === 'rows' || this.state === 'firstRow') {
      const first = data[start];
      if (first === CLOSE_BRACKET) {
        this.flush(events);
        this.endTable(data.toString('latin1', start, end), events);
      } else {
        const problem = rowLineProblem(this.state, first);
        if (problem !== null) this.fail(problem);
        this.state = 'rows';
        try {
          this.encoder!.encode(data.subarray(first === COMMA ? start + 1 : start, end));
        } catch (err) {
          // The table's events are not handed over yet: name it here.
          if (err instanceof RowShapeError) throw new RowShapeError(err.message, err.row, err.field, this.key);
          throw err;
        }
        this.pendingRows++;
        if (this.encoder!.pending >= FLUSH_AT) this.flush(events);
      }
    } else this.structure(data.toString('utf8', start, end), events);
    this.offset += end + 1 - start;
  }

  /** Hands over the rows encoded so far. */
  private flush(events: LineEvent[]): void {
    if (this.pendingRows === 0) return;
    events.push({ type: 'copyText', key: this.key, data: this.encoder!.take(), rows: this.pendingRows });
    this.pendingRows = 0;
  }

  end(): LineEvent[] {
    if (this.rest.length > 0) this.fail('the file does not end with a newline');
    if (this.state !== 'done') this.fail('the file ends early');
    return [];
  }

  private structure(line: string, events: LineEvent[]): void {
    const step = this.step(line);
    if (step.key !== undefined) {
      const key = step.key;
      const columns = this.columns(key);
      if (!columns) this.fail(`unknown table "data.${key}"`);
      if (this.seen.has(key)) this.fail(`table "data.${key}" appears twice`);
      this.seen.add(key);
      this.key = key;
      this.encoder = new CopyTextEncoder(columns, this.options);
      events.push({ type: 'tableStart', key });
    }
    this.state = step.state;
  }

  private endTable(line: string, events: LineEvent[]): void {
    const step = this.step(line);
    events.push({ type: 'tableEnd', key: this.key, count: this.encoder!.rows });
    this.state = step.state;
  }

  private step(line: string): LayoutStep {
    const step = layoutStep(this.state, line, this.seen.size);
    if (typeof step === 'string') this.fail(step);
    return step;
  }

  private fail(problem: string): never {
    throw new ScanError(`${problem} (line ${this.line})`, this.offset);
  }
}
