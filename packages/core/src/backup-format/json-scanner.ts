/**
 * A streaming scanner for backup files: `{ "metadata": {…}, "data": { "<table>": [ row, … ], … } }`.
 *
 * It never builds the document. It hands back the metadata value (small, parsed) and, for every
 * element of every `data.<table>` array, the element's raw bytes, so rows can go to PostgreSQL
 * (which parses them as jsonb) without being decoded in JavaScript. Works on bytes: UTF-8
 * continuation bytes never look like ASCII structure, so no text decoding is needed.
 *
 * Only the structure is checked here (objects, arrays, strings, nesting); the JSON of each row is
 * checked by the database. Key order at the top is free: metadata may come before or after data.
 */
import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  CR,
  NEWLINE,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  SPACE,
  isJsonWhitespace,
} from './bytes.js';

export type ScanEvent =
  | { type: 'metadata'; value: unknown }
  | { type: 'tableStart'; key: string }
  | { type: 'rows'; key: string; rows: Buffer[] }
  | { type: 'tableEnd'; key: string; count: number };

export class ScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
    this.name = 'ScanError';
  }
}

const enum S {
  Start,
  TopKeyOrEnd,
  TopKey,
  TopColon,
  TopValue,
  TopAfterValue,
  DataOpen,
  DataKeyOrEnd,
  DataKey,
  DataColon,
  ArrayOpen,
  ElemOrEnd,
  Elem,
  AfterElem,
  DataAfterValue,
  Capture,
  Done,
}

const MAX_METADATA_BYTES = 4 * 1024 * 1024;
const MAX_KEY_BYTES = 1024;

/** Largest single row the scanner holds by default: rows of this schema are a few KB. */
export const MAX_ROW_BYTES = 64 * 1024 * 1024;

export class BackupScanner {
  /** @param maxRowBytes a row past this size ends the scan (memory stays bounded on a damaged file). */
  constructor(private readonly maxRowBytes = MAX_ROW_BYTES) {}

  private state = S.Start;
  private offset = 0;
  private topKeys = new Set<string>();
  private dataKeys = new Set<string>();
  private key: number[] = [];
  private keyEscape = false;
  private topKey = '';
  private table = '';
  private rowCount = 0;
  private sawData = false;
  // Value capture (rows, metadata, skipped values).
  private depth = 0;
  private inString = false;
  private escape = false;
  private scalar = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private captureFor: 'row' | 'metadata' | 'skip' = 'skip';
  private hasNewline = false;
  private pendingRows: Buffer[] = [];
  private events: ScanEvent[] = [];
  private metadataSeen = false;
  private bsChunk: Buffer | null = null;
  private bsPos = -1;

  /** Scans one chunk and returns the events it completed, in order. */
  push(chunk: Buffer): ScanEvent[] {
    this.events = [];
    let i = 0;
    let start = -1; // where the current capture began in this chunk
    if (this.state === S.Capture || this.state === S.Elem) start = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === S.Elem || this.state === S.Capture) {
        const end = this.scanValue(chunk, i);
        if (end < 0) {
          i = n;
          break;
        }
        this.keep(chunk.subarray(start, end));
        this.finishValue();
        start = -1;
        i = end;
        continue;
      }
      const b = chunk[i]!;
      if (isJsonWhitespace(b)) {
        i++;
        continue;
      }
      switch (this.state) {
        case S.Start:
          if (b === 0xef && chunk[i + 1] === 0xbb && chunk[i + 2] === 0xbf) {
            i += 3;
            continue;
          }
          this.expect(b, OPEN_BRACE, 'The file must start with "{"', i);
          this.state = S.TopKeyOrEnd;
          break;
        case S.TopKeyOrEnd:
        case S.DataKeyOrEnd:
          if (b === CLOSE_BRACE) {
            if (this.state === S.TopKeyOrEnd) this.state = S.Done;
            else this.state = S.TopAfterValue;
            break;
          }
          this.expect(b, QUOTE, 'Expected a quoted key', i);
          this.key = [];
          this.keyEscape = false;
          this.state = this.state === S.TopKeyOrEnd ? S.TopKey : S.DataKey;
          break;
        case S.TopKey:
        case S.DataKey: {
          const end = this.readKey(chunk, i);
          if (end < 0) {
            i = n;
            continue;
          }
          i = end;
          this.state = this.state === S.TopKey ? S.TopColon : S.DataColon;
          continue;
        }
        case S.TopColon:
        case S.DataColon:
          this.expect(b, COLON, 'Expected ":" after a key', i);
          this.state = this.state === S.TopColon ? S.TopValue : S.ArrayOpen;
          break;
        case S.TopValue:
          if (this.topKey === 'data') {
            this.expect(b, OPEN_BRACE, '"data" must be an object of tables', i);
            this.sawData = true;
            this.state = S.DataKeyOrEnd;
            break;
          }
          this.beginCapture(b, this.topKey === 'metadata' ? 'metadata' : 'skip');
          start = i;
          i++;
          continue;
        case S.TopAfterValue:
          if (b === COMMA) this.state = S.TopKeyOrEnd;
          else if (b === CLOSE_BRACE) this.state = S.Done;
          else throw new ScanError('Expected "," or "}" in the top-level object', this.offset + i);
          break;
        case S.ArrayOpen:
          if (b !== OPEN_BRACKET) throw new ScanError(`data.${this.table} must be an array of rows`, this.offset + i);
          this.rowCount = 0;
          this.events.push({ type: 'tableStart', key: this.table });
          this.state = S.ElemOrEnd;
          break;
        case S.ElemOrEnd:
          if (b === CLOSE_BRACKET && this.rowCount === 0) {
            this.endTable();
            break;
          }
          this.beginCapture(b, 'row');
          this.state = S.Elem;
          start = i;
          i++;
          continue;
        case S.AfterElem:
          if (b === COMMA) this.state = S.ElemOrEnd;
          else if (b === CLOSE_BRACKET) this.endTable();
          else
            throw new ScanError(
              `Expected "," or "]" after row ${this.rowCount} of data.${this.table}`,
              this.offset + i,
            );
          break;
        case S.DataAfterValue:
          if (b === COMMA) this.state = S.DataKeyOrEnd;
          else if (b === CLOSE_BRACE) this.state = S.TopAfterValue;
          else throw new ScanError('Expected "," or "}" between tables in "data"', this.offset + i);
          break;
        case S.Done:
          throw new ScanError('Unexpected content after the end of the document', this.offset + i);
        default:
          throw new ScanError('Scanner in an impossible state', this.offset + i);
      }
      i++;
    }
    if (start >= 0 && (this.state === S.Elem || this.state === S.Capture)) this.keep(chunk.subarray(start));
    this.flushRows();
    this.offset += n;
    return this.events;
  }

  /** Call at the end of input; throws when the document is incomplete. */
  end(): ScanEvent[] {
    this.events = [];
    if (this.state === S.Capture && this.scalar && this.depth === 0 && !this.inString) this.finishValue();
    if (this.state !== S.Done) throw new ScanError('The file ends before the document is complete', this.offset);
    if (!this.sawData) throw new ScanError('The file has no "data" object', this.offset);
    if (!this.metadataSeen) throw new ScanError('The file has no "metadata" object', this.offset);
    return this.events;
  }

  private expect(b: number, want: number, message: string, i: number): void {
    if (b !== want) throw new ScanError(message, this.offset + i);
  }

  private readKey(chunk: Buffer, i: number): number {
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.keyEscape) this.keyEscape = false;
      else if (b === BACKSLASH) this.keyEscape = true;
      else if (b === QUOTE) {
        const key = JSON.parse(`"${Buffer.from(this.key).toString('utf8')}"`) as string;
        const seen = this.state === S.TopKey ? this.topKeys : this.dataKeys;
        if (seen.has(key)) throw new ScanError(`Duplicate key "${key}"`, this.offset + i);
        seen.add(key);
        if (this.state === S.TopKey) this.topKey = key;
        else this.table = key;
        return i + 1;
      }
      this.key.push(b);
      if (this.key.length > MAX_KEY_BYTES) throw new ScanError('A key is too long', this.offset + i);
    }
    return -1;
  }

  private beginCapture(b: number, purpose: 'row' | 'metadata' | 'skip'): void {
    this.captureFor = purpose;
    this.parts = [];
    this.partBytes = 0;
    this.hasNewline = false;
    this.escape = false;
    if (purpose !== 'row') this.state = S.Capture;
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      this.depth = 1;
      this.inString = false;
      this.scalar = false;
    } else if (b === QUOTE) {
      this.depth = 0;
      this.inString = true;
      this.scalar = true;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET || b === COMMA || b === COLON) {
      throw new ScanError('Expected a value', this.offset);
    } else {
      this.depth = 0;
      this.inString = false;
      this.scalar = true;
    }
  }

  /**
   * Advances through the current value from `i` (the byte after its first byte, or the start of
   * a later chunk). Returns the index just past the value, or -1 when the chunk ends inside it.
   */
  private scanValue(chunk: Buffer, i: number): number {
    const n = chunk.length;
    // The first byte of the value was consumed by beginCapture when it started in this chunk.
    while (i < n) {
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          i++;
          continue;
        }
        const q = chunk.indexOf(QUOTE, i);
        // The next backslash is looked up once and reused: searching for it from every string
        // would rescan the rest of the chunk each time.
        if (this.bsChunk !== chunk || (this.bsPos >= 0 && this.bsPos < i)) {
          this.bsChunk = chunk;
          this.bsPos = chunk.indexOf(BACKSLASH, i);
        }
        const bs = this.bsPos;
        if (bs >= 0 && (q < 0 || bs < q)) {
          i = bs + 1;
          this.escape = true;
          continue;
        }
        if (q < 0) return -1;
        i = q + 1;
        this.inString = false;
        if (this.scalar && this.depth === 0) return i;
        continue;
      }
      const b = chunk[i]!;
      if (this.scalar) {
        if (b === COMMA || b === CLOSE_BRACKET || b === CLOSE_BRACE || isJsonWhitespace(b)) return i;
        i++;
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (--this.depth === 0) return i + 1;
      } else if (b === NEWLINE || b === CR) this.hasNewline = true;
      i++;
    }
    return -1;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.partBytes += part.length;
    if (this.captureFor === 'metadata' && this.partBytes > MAX_METADATA_BYTES) {
      throw new ScanError('The metadata object is implausibly large', this.offset);
    }
    if (this.captureFor === 'skip') this.parts = [];
    if (this.captureFor === 'row' && this.partBytes > this.maxRowBytes) {
      throw new ScanError(
        `Row ${this.rowCount} of data.${this.table} is larger than ${this.maxRowBytes} bytes`,
        this.offset,
      );
    }
  }

  private finishValue(): void {
    const value = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    if (this.captureFor === 'row') {
      // Rows travel to COPY one per line, so line breaks between tokens become spaces.
      this.pendingRows.push(
        this.hasNewline ? Buffer.from(value.map((c) => (c === NEWLINE || c === CR ? SPACE : c))) : value,
      );
      this.rowCount++;
      this.state = S.AfterElem;
      return;
    }
    if (this.captureFor === 'metadata') {
      try {
        this.events.push({ type: 'metadata', value: JSON.parse(value.toString('utf8')) });
      } catch {
        throw new ScanError('The metadata is not valid JSON', this.offset);
      }
      this.metadataSeen = true;
    }
    this.state = S.TopAfterValue;
  }

  private flushRows(): void {
    if (this.pendingRows.length === 0) return;
    this.events.push({ type: 'rows', key: this.table, rows: this.pendingRows });
    this.pendingRows = [];
  }

  private endTable(): void {
    this.flushRows();
    this.events.push({ type: 'tableEnd', key: this.table, count: this.rowCount });
    this.state = S.DataAfterValue;
  }
}
