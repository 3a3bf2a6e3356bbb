import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  isDigit,
  isHexDigit,
  isShortEscape,
  jsonNumberEnd,
  LOWER_F,
  LOWER_N,
  LOWER_T,
  LOWER_U,
  MINUS,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from './bytes.js';

/**
 * Checks that `row` is one JSON object (RFC 8259), as `JSON.parse(row.toString('utf8'))` would accept
 * it and find an object, without building any value: a loop over the bytes, so a read-back of 2 M rows
 * costs a fraction of parsing them. Returns null for a valid object, else what is wrong (and where).
 *
 * Accepts what `JSON.parse` of the UTF-8 text accepts: any byte of 0x80 and above inside a string
 * (the decoder turns invalid UTF-8 into U+FFFD, which a string may hold), and refuses what it refuses:
 * raw control characters in strings, unknown escapes, `\u` without four hex digits, numbers with
 * leading zeros or a bare `.`/`e`, literals other than `true`/`false`/`null`, trailing commas,
 * anything after the value. Nesting is bounded only by the row's length (no recursion).
 * `from` and `to` check the row where it lies in a larger buffer (a line of a decompressed piece):
 * no view per row, which the export's check of 2 M rows felt (about 15 % of its time).
 */
export function jsonObjectProblem(row: Uint8Array, from = 0, to = row.length): string | null {
  const problem = objectProblemAt(row, from, to);
  // Positions are found in `row`; the reader counts them from the row's first byte.
  return problem === null ? null : problem.replace(/\(byte (\d+)\)/, (_, at: string) => `(byte ${Number(at) - from})`);
}

/** {@link jsonObjectProblem} of `row[from, n)`: bytes at `n` and after may be read, but never make a row valid. */
function objectProblemAt(row: Uint8Array, from: number, n: number): string | null {
  let i = skipWs(row, from, n);
  if (row[i] !== OPEN_BRACE) return i >= n ? 'empty' : `not a JSON object (byte ${i})`;
  // Open containers: true for an object, false for an array.
  const stack: boolean[] = [];
  // What the next token may be: a value, or a key (in an object, after `{` or `,`).
  let expectKey = false;
  let expectValue = true;
  while (i < n) {
    const b = row[i]!;
    // Whitespace (SPACE, NEWLINE, TAB, CR) as literals, here and in skipWs: this test runs for every token of
    // every row the read-back checks, and both isJsonWhitespace and the imported constants made it slower.
    if (b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d) {
      i++;
      continue;
    }
    if (expectKey) {
      if (b !== QUOTE) return `a key expected (byte ${i})`;
      i = scanString(row, i + 1, n);
      if (i < 0) return `a bad string (byte ${-i - 1})`;
      i = skipWs(row, i, n);
      if (row[i] !== COLON) return `":" expected (byte ${i})`;
      i++;
      expectKey = false;
      expectValue = true;
      continue;
    }
    if (expectValue) {
      if (b === OPEN_BRACE) {
        const j = skipWs(row, i + 1, n);
        expectValue = false;
        if (j < n && row[j] === CLOSE_BRACE) {
          i = j + 1;
          continue;
        }
        stack.push(true);
        expectKey = true;
        i++;
        continue;
      }
      if (b === OPEN_BRACKET) {
        const j = skipWs(row, i + 1, n);
        if (j < n && row[j] === CLOSE_BRACKET) {
          i = j + 1;
          expectValue = false;
          continue;
        }
        // A value follows: expectValue stays true.
        stack.push(false);
        i++;
        continue;
      }
      if (b === QUOTE) i = scanString(row, i + 1, n);
      else if (b === MINUS || isDigit(b)) {
        const end = jsonNumberEnd(row, i);
        i = end < 0 ? -(i + 1) : end;
      } else if (b === LOWER_T) i = word(row, i, TRUE);
      else if (b === LOWER_F) i = word(row, i, FALSE);
      else if (b === LOWER_N) i = word(row, i, NULL);
      else return `a value expected (byte ${i})`;
      if (i < 0) return `a bad value (byte ${-i - 1})`;
      expectValue = false;
      continue;
    }
    // After a value: `,` or the close of the innermost container.
    if (stack.length === 0) return rest(row, i, n);
    const inObject = stack[stack.length - 1]!;
    if (b === COMMA) {
      i++;
      if (inObject) expectKey = true;
      else expectValue = true;
      continue;
    }
    if (b === (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
      stack.pop();
      i++;
      if (stack.length === 0) return rest(row, i, n);
      continue;
    }
    return `"," or "${inObject ? '}' : ']'}" expected (byte ${i})`;
  }
  return stack.length === 0 && !expectValue && !expectKey ? null : 'the row ends before its object is complete';
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function skipWs(row: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const b = row[i]!;
    if (b !== 0x20 && b !== 0x0a && b !== 0x09 && b !== 0x0d) break;
    i++;
  }
  return i;
}

/** Only whitespace may follow the object. */
function rest(row: Uint8Array, i: number, n: number): string | null {
  const j = skipWs(row, i, n);
  return j === n ? null : `content after the object (byte ${j})`;
}

/** From just after the opening quote; returns the index after the closing quote, or -(index + 1) of the fault. */
function scanString(row: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const b = row[i]!;
    if (b === QUOTE) return i + 1;
    // A literal, not FIRST_PRINTABLE: this runs for every byte of every string (an imported constant is a load).
    if (b < 0x20) return -(i + 1);
    if (b === BACKSLASH) {
      const e = row[i + 1];
      if (e === LOWER_U) {
        for (let k = i + 2; k < i + 6; k++) if (k >= n || !isHexDigit(row[k]!)) return -(i + 1);
        i += 6;
        continue;
      }
      if (isShortEscape(e)) {
        i += 2;
        continue;
      }
      return -(i + 1);
    }
    i++;
  }
  return -(n + 1);
}

function word(row: Uint8Array, i: number, w: Uint8Array): number {
  for (let k = 0; k < w.length; k++) if (row[i + k] !== w[k]) return -(i + 1);
  return i + w.length;
}
