import { CopyTextEncoder, type CopyColumn } from './copy-text.js';
import { ScanError } from './json-scanner.js';

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
const MAX_LINE = 64 * 1024 * 1024;
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;
const FIRST_LINE = /^\{"metadata":(\{.*\}),$/;
const TABLE_LINE = /^"([A-Za-z][A-Za-z0-9_]*)":\[$/;

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
  private state: 'data' | 'table' | 'firstRow' | 'rows' | 'end' | 'done' = 'data';
  private rest = Buffer.alloc(0);
  private line = 1; // the metadata line has been read
  private offset: number;
  private key = '';
  private encoder: CopyTextEncoder | undefined;

  constructor(
    private readonly columns: (key: string) => CopyColumn[] | undefined,
    /** Bytes already read (the metadata line), so error positions are file offsets. */
    offset: number,
  ) {
    this.offset = offset;
  }

  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    let rows = 0;
    const flush = () => {
      if (rows === 0) return;
      events.push({ type: 'copyText', key: this.key, data: this.encoder!.take(), rows });
      rows = 0;
    };
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      this.line++;
      if (this.state === 'rows' || this.state === 'firstRow') {
        const first = data[start];
        if (first === CLOSE_BRACKET) {
          flush();
          this.endTable(data.toString('latin1', start, nl), events);
        } else {
          if ((first === COMMA) !== (this.state === 'rows')) {
            this.fail(this.state === 'rows' ? 'a row must start with ","' : 'the first row of a table must not start with ","');
          }
          this.state = 'rows';
          this.encoder!.encode(data.subarray(first === COMMA ? start + 1 : start, nl));
          rows++;
          if (this.encoder!.pending >= FLUSH_AT) flush();
        }
      } else this.structure(data.toString('utf8', start, nl), events);
      this.offset += nl + 1 - start;
      start = nl + 1;
    }
    flush();
    // Copied, so the chunk it came from is not kept alive.
    this.rest = Buffer.from(data.subarray(start));
    if (this.rest.length > MAX_LINE) this.fail(`a line longer than ${MAX_LINE} bytes`);
    return events;
  }

  end(): LineEvent[] {
    if (this.rest.length > 0) this.fail('the file does not end with a newline');
    if (this.state !== 'done') this.fail('the file ends early');
    return [];
  }

  private structure(line: string, events: LineEvent[]): void {
    switch (this.state) {
      case 'data':
        if (line !== '"data":{') this.fail('"data":{ expected');
        this.state = 'table';
        return;
      case 'table': {
        const key = TABLE_LINE.exec(line)?.[1];
        if (key === undefined) {
          if (line === '}}' && this.key === '') return this.finish();
          this.fail('a table ("<name>":[) expected');
        }
        const columns = this.columns(key);
        if (!columns) this.fail(`unknown table "data.${key}"`);
        this.key = key;
        this.encoder = new CopyTextEncoder(columns);
        this.state = 'firstRow';
        events.push({ type: 'tableStart', key });
        return;
      }
      case 'end':
        if (line !== '}}') this.fail('}} expected after the last table');
        return this.finish();
      default:
        this.fail('nothing expected after the end of the document');
    }
  }

  private endTable(line: string, events: LineEvent[]): void {
    if (line !== ']' && line !== '],') this.fail('"]" or "]," expected at the end of a table');
    events.push({ type: 'tableEnd', key: this.key, count: this.encoder!.rows });
    this.state = line === ']' ? 'end' : 'table';
  }

  private finish(): void {
    this.state = 'done';
  }

  private fail(problem: string): never {
    throw new ScanError(`${problem} (line ${this.line})`, this.offset);
  }
}
