import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  CR,
  DIGIT_0,
  FIRST_PRINTABLE,
  isDigit,
  isJsonWhitespace,
  isShortEscape,
  jsonNumberEnd,
  LOWER_F,
  LOWER_N,
  LOWER_R,
  LOWER_T,
  LOWER_U,
  LOWER_X,
  NEWLINE,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  TAB,
  UPPER_N,
} from './bytes.js';
import { JSON_TAG } from './json-values.js';

/**
 * Turns the rows of a backup file (one JSON object per row, as `row_to_json` writes them) into
 * PostgreSQL COPY text lines for a known list of columns, without decoding them into JavaScript
 * values. JSON string escapes and COPY text escapes agree on `\\ \" \/ \b \f \n \r \t`, so string
 * contents are copied byte for byte; only `\uXXXX` is rewritten. Numbers and booleans are copied
 * as written (PostgreSQL's input functions check them); `null` becomes `\N`; objects and arrays are
 * accepted only for json/jsonb columns, and kept as JSON text. In a file of format 1.1
 * (`taggedJson`), a json column's `{"$json": v}` is the value `v` (docs/backup-format.md).
 *
 * Every character PostgreSQL text can hold comes through: escapes are kept or rewritten (`\u0001`
 * becomes `\x01`), raw UTF-8 and DEL are copied. What it cannot hold, or what would break a COPY
 * line, is refused as a {@link RowShapeError} naming the row and field: a raw control character
 * inside a string (not valid JSON; a raw tab or CR would shift or split the COPY line) and `\u0000`.
 *
 * Works on bytes, into reused output buffers, so a 2 M-row table makes next to no garbage. Strings
 * are copied in a plain loop: most are short (ids, dates), and a native `indexOf` per string cost
 * more than the bytes it skipped (more CPU for the whole file, not less).
 *
 * Every row must name exactly the given columns, in the given order: this is the reader for files
 * this product wrote at the database's current schema. Anything else is a {@link RowShapeError}.
 */

export interface CopyColumn {
  name: string;
  /** json or jsonb: the value is kept as JSON text (a JSON string keeps its quotes). */
  json: boolean;
}

export class RowShapeError extends Error {
  constructor(
    message: string,
    /** 0-based index of the row in its table. */
    readonly row: number,
    readonly field?: string,
    /** The table's key under `data`, when the reader that found it knows it. */
    readonly table?: string,
  ) {
    super(message);
    this.name = 'RowShapeError';
  }
}

const isWs = isJsonWhitespace;
const isWordByte = (b: number | undefined) =>
  b !== undefined && (isDigit(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e || b === 0x5f);
const NULL = Buffer.from('null');
const WORDS = [NULL, Buffer.from('true'), Buffer.from('false')];
const HEX = Buffer.from('0123456789abcdef');
const TAG_KEY = Buffer.from(JSON.stringify(JSON_TAG));
const CONTROL_NAMES: Record<number, string> = { 0x00: 'NUL', 0x09: 'tab', 0x0a: 'line feed', 0x0d: 'carriage return' };

/** `U+0009 (tab)` */
function controlName(b: number): string {
  const code = `U+${b.toString(16).toUpperCase().padStart(4, '0')}`;
  return CONTROL_NAMES[b] ? `${code} (${CONTROL_NAMES[b]})` : code;
}

function hexValue(b: number): number {
  if (isDigit(b)) return b - DIGIT_0;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

export interface CopyTextOptions {
  /** The file's format tags json values (1.1 and later, `tagsJsonValues`): `{"$json": v}` means `v`. */
  taggedJson: boolean;
}

export class CopyTextEncoder {
  private readonly keys: Buffer[];
  private readonly json: boolean[];
  private readonly tagged: boolean;
  private out = Buffer.allocUnsafe(OUT_SIZE);
  private o = 0;
  private filled: Buffer[] = [];
  private row = 0;

  constructor(
    private readonly columns: readonly CopyColumn[],
    options: CopyTextOptions,
  ) {
    this.keys = columns.map((c) => Buffer.from(c.name));
    this.json = columns.map((c) => c.json);
    this.tagged = options.taggedJson;
  }

  /** Rows encoded so far. */
  get rows(): number {
    return this.row;
  }

  /** Bytes of COPY text waiting in {@link take}. */
  get pending(): number {
    let bytes = this.o;
    for (const b of this.filled) bytes += b.length;
    return bytes;
  }

  /** Appends the COPY text line of one row (the bytes of one JSON object). */
  encode(row: Buffer): void {
    // Worst case: every byte of a json column doubled (backslashes, tabs), plus the newline.
    const need = row.length * 2 + 1;
    if (this.out.length - this.o < need) {
      if (this.o > 0) this.filled.push(this.out.subarray(0, this.o));
      this.out = Buffer.allocUnsafe(Math.max(OUT_SIZE, need));
      this.o = 0;
    }
    const start = this.o;
    try {
      this.encodeRow(row);
    } catch (err) {
      this.o = start;
      throw err;
    }
    this.row++;
  }

  /** The COPY text encoded since the last call (empty when nothing was). */
  take(): Buffer {
    const last = this.out.subarray(0, this.o);
    const all = this.filled.length === 0 ? last : Buffer.concat([...this.filled, last]);
    this.filled = [];
    // The rest of the current buffer is reused: the taken part is never written again.
    this.out = this.out.subarray(this.o);
    this.o = 0;
    if (this.out.length < 1024) this.out = Buffer.allocUnsafe(OUT_SIZE);
    return all;
  }

  /** Kept out of the string loop, which stays small enough to optimise well. */
  private rawControl(b: number, c: number): never {
    this.fail(
      `not valid JSON: a string holds a raw control character ${controlName(b)}; it must be written as an escape`,
      c,
    );
  }

  private fail(problem: string, column?: number): never {
    throw new RowShapeError(problem, this.row, column === undefined ? undefined : this.columns[column]!.name);
  }

  private encodeRow(r: Buffer): void {
    const n = this.keys.length;
    let i = skipWs(r, 0);
    if (r[i] !== OPEN_BRACE) this.fail('a row must be a JSON object');
    i++;
    for (let c = 0; c < n; c++) {
      i = skipWs(r, i);
      if (r[i] === CLOSE_BRACE)
        this.fail(
          `fields ${this.columns
            .slice(c)
            .map((x) => `"${x.name}"`)
            .join(', ')} are missing`,
          c,
        );
      i = this.expectKey(r, i, c);
      i = skipWs(r, i);
      if (r[i] !== COLON) this.fail('not valid JSON: ":" expected after a field name', c);
      i = skipWs(r, i + 1);
      if (c > 0) this.out[this.o++] = TAB;
      i = this.value(r, i, c);
      i = skipWs(r, i);
      const b = r[i];
      if (c < n - 1) {
        if (b !== COMMA)
          this.fail(
            b === CLOSE_BRACE
              ? `fields ${this.columns
                  .slice(c + 1)
                  .map((x) => `"${x.name}"`)
                  .join(', ')} are missing`
              : 'not valid JSON: "," expected after a value',
            c,
          );
      } else if (b !== CLOSE_BRACE) {
        if (b === COMMA) this.fail(`unknown field(s) after "${this.columns[c]!.name}"`);
        this.fail('not valid JSON: "}" expected after the last value', c);
      }
      i++;
    }
    if (n === 0) {
      i = skipWs(r, i);
      if (r[i] !== CLOSE_BRACE) this.fail('unknown field(s)');
      i++;
    }
    if (skipWs(r, i) !== r.length) this.fail('not valid JSON: text after the row object');
    this.out[this.o++] = NEWLINE;
  }

  /** Checks that the key at `i` is column `c`'s name; returns the index after its closing quote. */
  private expectKey(r: Buffer, i: number, c: number): number {
    const key = this.keys[c]!;
    if (r[i] === QUOTE) {
      const end = i + 1 + key.length;
      if (r[end] === QUOTE) {
        let k = 0;
        while (k < key.length && r[i + 1 + k] === key[k]) k++;
        if (k === key.length) return end + 1;
      }
    }
    const found = /^"((?:[^"\\]|\\.){0,200})"/.exec(r.subarray(i, i + 210).toString('utf8'))?.[1];
    if (found === undefined) this.fail('not valid JSON: a field name expected', c);
    this.fail(
      `field "${found}" found where "${this.columns[c]!.name}" was expected ` +
        "(fields must be the table's columns, in order)",
      c,
    );
  }

  /** Writes the value at `i` for column `c`; returns the index after it. */
  private value(r: Buffer, i: number, c: number): number {
    const b = r[i];
    if (b === QUOTE) return this.string(r, i, c, this.json[c]!);
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (!this.json[c])
        this.fail(`${b === OPEN_BRACE ? 'an object' : 'an array'} is not a valid value for this column`, c);
      if (b === OPEN_BRACE && this.tagged) {
        const end = this.untag(r, i, c);
        if (end >= 0) return end;
      }
      return this.rawJson(r, i, c);
    }
    if (b === LOWER_N || b === LOWER_T || b === LOWER_F) {
      // null, true, false
      for (const word of WORDS) {
        if (startsWith(r, i, word) && !isWordByte(r[i + word.length])) {
          if (word === NULL) {
            this.out[this.o++] = BACKSLASH;
            this.out[this.o++] = UPPER_N; // \N
          } else this.copySpan(word, 0, word.length);
          return i + word.length;
        }
      }
      this.fail('not valid JSON: a value expected', c);
    }
    const j = jsonNumberEnd(r, i);
    if (j < 0 || isWordByte(r[j])) this.fail('not valid JSON: a value expected', c);
    this.copySpan(r, i, j);
    return j;
  }

  /**
   * When the object at `i` is `{"$json": v}` (one key, nothing else), writes `v` as JSON text (a
   * JSON `null` as `null`, not SQL NULL) and returns the index after the object; otherwise writes
   * nothing and returns -1. Only the exact key bytes `"$json"` are recognised: this reader is used
   * for files this product wrote, whose jsonb text never escapes `$`.
   */
  private untag(r: Buffer, i: number, c: number): number {
    let k = skipWs(r, i + 1);
    if (!startsWith(r, k, TAG_KEY)) return -1;
    k = skipWs(r, k + TAG_KEY.length);
    if (r[k] !== COLON) return -1;
    k = skipWs(r, k + 1);
    const start = this.o;
    const b = r[k];
    if (b === OPEN_BRACE || b === OPEN_BRACKET) k = this.rawJson(r, k, c);
    else if (startsWith(r, k, NULL) && !isWordByte(r[k + NULL.length])) {
      this.copySpan(NULL, 0, NULL.length);
      k += NULL.length;
    } else k = this.value(r, k, c);
    k = skipWs(r, k);
    if (r[k] === CLOSE_BRACE) return k + 1;
    // Another key follows: an ordinary object, read again as one.
    this.o = start;
    return -1;
  }

  /**
   * The JSON string at `i` (its opening quote) as COPY text; returns the index after its closing
   * quote. For a text column its content, where JSON escapes mean what COPY escapes mean (only
   * `\uXXXX` is rewritten); for a json column the whole token, quotes included, with every
   * backslash doubled so COPY hands PostgreSQL's json parser the escapes as written.
   * A raw control character (below U+0020) is refused: JSON does not allow it, and a tab or CR would
   * shift or split the COPY line. One comparison more per byte, with its failure in another method:
   * the loop kept small costs about the same CPU as before (docs/backup-format.md, "Cost").
   */
  private string(r: Buffer, i: number, c: number, json: boolean): number {
    const out = this.out;
    const n = r.length;
    let o = this.o;
    if (json) out[o++] = QUOTE;
    i++;
    for (;;) {
      if (i >= n)
        this.fail(
          'not valid JSON: unterminated string (a string must close on its own line; ' +
            'a raw line break inside it is not valid JSON)',
          c,
        );
      const b = r[i]!;
      if (b === QUOTE) break;
      if (b !== BACKSLASH) {
        // A literal, not FIRST_PRINTABLE: this runs for every byte of every string (an imported constant is a load).
        if (b < 0x20) this.rawControl(b, c);
        out[o++] = b;
        i++;
        continue;
      }
      const e = r[i + 1];
      if (json) {
        if (e === undefined || e < FIRST_PRINTABLE) this.fail('not valid JSON: a bad escape in a string', c);
        out[o++] = BACKSLASH;
        out[o++] = BACKSLASH;
        if (e === BACKSLASH) out[o++] = BACKSLASH;
        out[o++] = e;
      } else if (e === LOWER_U) {
        this.o = o;
        i = this.unicodeEscape(r, i, c);
        o = this.o;
        continue;
      } else {
        // \" \\ \/ \b \f \n \r \t mean the same in COPY text.
        if (!isShortEscape(e)) this.fail('not valid JSON: a bad escape in a string', c);
        out[o++] = BACKSLASH;
        out[o++] = e;
      }
      i += 2;
    }
    if (json) out[o++] = QUOTE;
    this.o = o;
    return i + 1;
  }

  /** `\uXXXX` (or a surrogate pair) at `i`, written as UTF-8, or as `\xHH` for a control character. */
  private unicodeEscape(r: Buffer, i: number, c: number): number {
    let cp = this.hex4(r, i + 2, c);
    let next = i + 6;
    if (cp >= 0xd800 && cp <= 0xdbff && r[next] === BACKSLASH && r[next + 1] === LOWER_U) {
      const low = this.hex4(r, next + 2, c);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        next += 6;
      }
    }
    if (cp === 0) this.fail('a string holds \\u0000, which PostgreSQL text cannot store', c);
    if (cp >= 0xd800 && cp <= 0xdfff) this.fail('a string holds an unpaired surrogate escape', c);
    const out = this.out;
    if (cp < FIRST_PRINTABLE || cp === BACKSLASH) {
      out[this.o++] = BACKSLASH;
      out[this.o++] = LOWER_X; // \xHH
      out[this.o++] = HEX[cp >> 4]!;
      out[this.o++] = HEX[cp & 15]!;
    } else {
      this.o += out.write(String.fromCodePoint(cp), this.o, 'utf8');
    }
    return next;
  }

  private hex4(r: Buffer, i: number, c: number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const h = hexValue(r[i + k] ?? -1);
      if (h < 0) this.fail('not valid JSON: a bad \\u escape in a string', c);
      v = (v << 4) | h;
    }
    return v;
  }

  /**
   * A JSON value (string, object or array) at `i` copied as JSON text, with COPY's special bytes
   * (backslash, tab, newline, carriage return) escaped. PostgreSQL's json parser checks the rest.
   */
  private rawJson(r: Buffer, i: number, c: number): number {
    let depth = 0;
    for (;;) {
      if (i >= r.length) this.fail('not valid JSON: unterminated value', c);
      const b = r[i]!;
      if (b === QUOTE) i = this.string(r, i, c, true);
      else {
        if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
        else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--;
        if (b === TAB || b === NEWLINE || b === CR) {
          this.out[this.o++] = BACKSLASH;
          this.out[this.o++] = b === TAB ? LOWER_T : b === NEWLINE ? LOWER_N : LOWER_R;
        } else this.out[this.o++] = b;
        i++;
      }
      if (depth === 0) return i;
    }
  }

  /** Copies `r[from, to)` to the output: a loop for short spans, memcpy for long ones. */
  private copySpan(r: Buffer, from: number, to: number): void {
    if (to - from > 48) {
      this.o += r.copy(this.out, this.o, from, to);
      return;
    }
    const out = this.out;
    let o = this.o;
    for (let k = from; k < to; k++) out[o++] = r[k]!;
    this.o = o;
  }
}

/** Output buffers are allocated this size (or a row's worst case, when larger). */
const OUT_SIZE = 256 * 1024;

/** Whether `r` holds `word` at `i`. */
function startsWith(r: Buffer, i: number, word: Buffer): boolean {
  if (i + word.length > r.length) return false;
  for (let k = 0; k < word.length; k++) if (r[i + k] !== word[k]) return false;
  return true;
}

function skipWs(r: Buffer, i: number): number {
  while (i < r.length && isWs(r[i]!)) i++;
  return i;
}
