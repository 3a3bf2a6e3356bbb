/**
 * Turns the rows of a backup file (one JSON object per row, as `row_to_json` writes them) into
 * PostgreSQL COPY text lines for a known list of columns, without decoding them into JavaScript
 * values. JSON string escapes and COPY text escapes agree on `\\ \" \/ \b \f \n \r \t`, so string
 * contents are copied as they are; only `\uXXXX` is rewritten. Numbers and booleans are copied as
 * written (PostgreSQL's input functions check them); `null` becomes `\N`; objects and arrays are
 * accepted only for json/jsonb columns, and kept as JSON text.
 *
 * Rows are latin1 strings of the file's bytes (one char per byte), so UTF-8 passes through
 * untouched and the result is written back with `Buffer.from(text, 'latin1')`; the string form
 * lets V8 find quotes and field names without a byte-by-byte loop.
 *
 * Every row must be the object `row_to_json` writes: exactly the given columns, in the given order,
 * no whitespace between them. This is the reader for files this product wrote at the database's
 * current schema; anything else is a {@link RowShapeError}.
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
  ) {
    super(message);
    this.name = 'RowShapeError';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const LITERAL = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false)$/;
/** A JSON string's content: no raw control character, only the escapes JSON allows. */
const VALID_CONTENT = /^(?:[^\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*$/;
const UNICODE_ESCAPE = /\\u([0-9a-fA-F]{4})(?:\\u([dD][c-fC-F][0-9a-fA-F]{2}))?/g;

export class CopyTextEncoder {
  /** `{"name":` for the first column, `,"name":` for the others. */
  private readonly prefixes: string[];
  private readonly json: boolean[];
  private row = 0;

  constructor(private readonly columns: readonly CopyColumn[]) {
    this.prefixes = columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`);
    this.json = columns.map((c) => c.json);
  }

  /** Rows encoded so far. */
  get rows(): number {
    return this.row;
  }

  /** The COPY text line (with its newline) of one row, given as a latin1 string of its JSON bytes. */
  encode(line: string): string {
    const n = this.prefixes.length;
    // Most rows hold no backslash at all: their strings end at the next quote.
    const plain = line.indexOf('\\') < 0;
    let pos = 0;
    let out = '';
    for (let c = 0; c < n; c++) {
      const prefix = this.prefixes[c]!;
      if (!line.startsWith(prefix, pos)) this.wrongField(line, pos, c);
      pos += prefix.length;
      if (c > 0) out += '\t';
      const ch = line.charCodeAt(pos);
      let end: number;
      if (ch === QUOTE) {
        end = plain ? line.indexOf('"', pos + 1) : stringEnd(line, pos + 1);
        if (end < 0) this.fail('not valid JSON: unterminated string', c);
        if (this.json[c]) out += plain ? line.slice(pos, end + 1) : copyEscape(line.slice(pos, end + 1));
        else out += plain ? line.slice(pos + 1, end) : this.unescape(line.slice(pos + 1, end), c);
        // Raw control characters in a plain string are not looked for (that would be a loop over every
        // byte): a tab or carriage return breaks the COPY line, which PostgreSQL refuses; a newline has
        // already ended the row; others are stored as they are. PostgreSQL's JSON never holds them raw.
        pos = end + 1;
      } else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
        if (!this.json[c]) this.fail(`${ch === OPEN_BRACE ? 'an object' : 'an array'} is not a valid value for this column`, c);
        end = nestedEnd(line, pos);
        if (end < 0) this.fail('not valid JSON: unterminated value', c);
        out += plain ? line.slice(pos, end) : copyEscape(line.slice(pos, end));
        pos = end;
      } else {
        end = line.indexOf(',', pos);
        if (end < 0) end = line.length - 1;
        const word = line.slice(pos, end);
        if (word === 'null') out += '\\N';
        else if (LITERAL.test(word)) out += word;
        else this.fail('not valid JSON: a value expected', c);
        pos = end;
      }
    }
    if (pos !== line.length - 1 || line.charCodeAt(pos) !== CLOSE_BRACE) {
      if (line.charCodeAt(pos) === COMMA) this.fail(`unknown field(s) after "${this.columns[n - 1]?.name}"`);
      if (line.charCodeAt(pos) === CLOSE_BRACE) this.fail('not valid JSON: text after the row object');
      this.fail(n === 0 && line.charCodeAt(0) === OPEN_BRACE ? 'unknown field(s)' : 'not valid JSON: "}" expected after the last value', n - 1);
    }
    this.row++;
    return `${out}\n`;
  }

  private fail(problem: string, column?: number): never {
    throw new RowShapeError(problem, this.row, column === undefined || column < 0 ? undefined : this.columns[column]!.name);
  }

  private wrongField(line: string, pos: number, c: number): never {
    if (c === 0 && line.charCodeAt(0) !== OPEN_BRACE) this.fail('a row must be a JSON object');
    if (c > 0 && line.charCodeAt(pos) === CLOSE_BRACE) {
      this.fail(`fields ${this.columns.slice(c).map((x) => `"${x.name}"`).join(', ')} are missing`, c);
    }
    const found = /^[{,]"((?:[^"\\]|\\.){0,200})":/.exec(line.slice(pos, pos + 210))?.[1];
    if (found === undefined) this.fail(c === 0 ? 'not valid JSON: a field name expected' : 'not valid JSON: "," and a field name expected', c);
    this.fail(`field "${found}" found where "${this.columns[c]!.name}" was expected (fields must be the table's columns, in order)`, c);
  }

  /** A string's content with JSON escapes, as COPY text: only `\uXXXX` differs. */
  private unescape(content: string, c: number): string {
    if (!VALID_CONTENT.test(content)) {
      this.fail(hasControl(content) ? 'not valid JSON: a control character in a string' : 'not valid JSON: a bad escape in a string', c);
    }
    if (!content.includes('\\u')) return content;
    return content.replace(UNICODE_ESCAPE, (escape, high: string, low: string | undefined, offset: number) => {
      // `\\u0041` is an escaped backslash followed by text, not an escape.
      let backslashes = 0;
      for (let i = offset - 1; i >= 0 && content.charCodeAt(i) === BACKSLASH; i--) backslashes++;
      if (backslashes % 2 === 1) return escape;
      let cp = parseInt(high, 16);
      if (low !== undefined && cp >= 0xd800 && cp <= 0xdbff) cp = 0x10000 + ((cp - 0xd800) << 10) + (parseInt(low, 16) - 0xdc00);
      else if (low !== undefined) return this.codePoint(cp, c) + this.codePoint(parseInt(low, 16), c);
      return this.codePoint(cp, c);
    });
  }

  /** One code point as COPY text: UTF-8 bytes (as latin1 chars), or `\xHH` for a control character or backslash. */
  private codePoint(cp: number, c: number): string {
    if (cp === 0) this.fail('a string holds \\u0000, which PostgreSQL text cannot store', c);
    if (cp >= 0xd800 && cp <= 0xdfff) this.fail('a string holds an unpaired surrogate escape', c);
    if (cp < 0x20 || cp === BACKSLASH) return `\\x${cp.toString(16).padStart(2, '0')}`;
    return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
  }
}

/** Index of the quote that closes the string whose content starts at `i`, or -1. */
function stringEnd(s: string, i: number): number {
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return -1;
    let backslashes = 0;
    for (let k = q - 1; k >= i && s.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q;
    i = q + 1;
  }
}

/** Index just after the object or array that starts at `i`, or -1. Brackets inside strings do not count. */
function nestedEnd(s: string, i: number): number {
  let depth = 0;
  const n = s.length;
  for (; i < n; i++) {
    const b = s.charCodeAt(i);
    if (b === QUOTE) {
      i = stringEnd(s, i + 1);
      if (i < 0) return -1;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** JSON text as COPY text: backslashes doubled; tab, newline and carriage return escaped. */
function copyEscape(json: string): string {
  let out = json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
  if (/[\t\n\r]/.test(out)) out = out.replaceAll('\t', '\\t').replaceAll('\n', '\\n').replaceAll('\r', '\\r');
  return out;
}

/** Whether `s` holds a control character, which JSON strings may not carry raw. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}
