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
  TAB,
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
 */
export function jsonObjectProblem(row: Uint8Array): string | null {
  const n = row.length;
  let i = skipWs(row, 0);
  if (row[i] !== OPEN_BRACE) return i >= n ? 'empty' : `not a JSON object (byte ${i})`;
  // Open containers: true for an object, false for an array.
  const stack: boolean[] = [];
  // What the next token may be: a value, or a key (in an object, after `{` or `,`).
  let expectKey = false;
  let expectValue = true;
  while (i < n) {
    const b = row[i]!;
    if (b === SPACE || b === NEWLINE || b === TAB || b === CR) {
      i++;
      continue;
    }
    if (expectKey) {
      if (b !== QUOTE) return `a key expected (byte ${i})`;
      i = scanString(row, i + 1);
      if (i < 0) return `a bad string (byte ${-i - 1})`;
      i = skipWs(row, i);
      if (row[i] !== COLON) return `":" expected (byte ${i})`;
      i++;
      expectKey = false;
      expectValue = true;
      continue;
    }
    if (expectValue) {
      if (b === OPEN_BRACE) {
        const j = skipWs(row, i + 1);
        expectValue = false;
        if (row[j] === CLOSE_BRACE) {
          i = j + 1;
          continue;
        }
        stack.push(true);
        expectKey = true;
        i++;
        continue;
      }
      if (b === OPEN_BRACKET) {
        const j = skipWs(row, i + 1);
        if (row[j] === CLOSE_BRACKET) {
          i = j + 1;
          expectValue = false;
          continue;
        }
        // A value follows: expectValue stays true.
        stack.push(false);
        i++;
        continue;
      }
      if (b === QUOTE) i = scanString(row, i + 1);
      else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) i = scanNumber(row, i);
      else if (b === 0x74) i = word(row, i, TRUE);
      else if (b === 0x66) i = word(row, i, FALSE);
      else if (b === 0x6e) i = word(row, i, NULL);
      else return `a value expected (byte ${i})`;
      if (i < 0) return `a bad value (byte ${-i - 1})`;
      expectValue = false;
      continue;
    }
    // After a value: `,` or the close of the innermost container.
    if (stack.length === 0) return rest(row, i);
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
      if (stack.length === 0) return rest(row, i);
      continue;
    }
    return `"," or "${inObject ? '}' : ']'}" expected (byte ${i})`;
  }
  return stack.length === 0 && !expectValue && !expectKey ? null : 'the row ends before its object is complete';
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function skipWs(row: Uint8Array, i: number): number {
  while (i < row.length) {
    const b = row[i]!;
    if (b !== SPACE && b !== NEWLINE && b !== TAB && b !== CR) break;
    i++;
  }
  return i;
}

/** Only whitespace may follow the object. */
function rest(row: Uint8Array, i: number): string | null {
  const j = skipWs(row, i);
  return j === row.length ? null : `content after the object (byte ${j})`;
}

/** From just after the opening quote; returns the index after the closing quote, or -(index + 1) of the fault. */
function scanString(row: Uint8Array, i: number): number {
  const n = row.length;
  while (i < n) {
    const b = row[i]!;
    if (b === QUOTE) return i + 1;
    if (b < 0x20) return -(i + 1);
    if (b === BACKSLASH) {
      const e = row[i + 1];
      if (e === 0x75) {
        for (let k = i + 2; k < i + 6; k++) if (k >= n || !isHex(row[k]!)) return -(i + 1);
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      return -(i + 1);
    }
    i++;
  }
  return -(n + 1);
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; returns the index after it, or -(index + 1) of the fault. */
function scanNumber(row: Uint8Array, i: number): number {
  const start = i;
  if (row[i] === 0x2d) i++;
  if (row[i] === 0x30) i++;
  else if (isDigit(row[i])) while (isDigit(row[i])) i++;
  else return -(start + 1);
  if (row[i] === 0x2e) {
    i++;
    if (!isDigit(row[i])) return -(start + 1);
    while (isDigit(row[i])) i++;
  }
  if (row[i] === 0x65 || row[i] === 0x45) {
    i++;
    if (row[i] === 0x2b || row[i] === 0x2d) i++;
    if (!isDigit(row[i])) return -(start + 1);
    while (isDigit(row[i])) i++;
  }
  return i;
}

function word(row: Uint8Array, i: number, w: Uint8Array): number {
  for (let k = 0; k < w.length; k++) if (row[i + k] !== w[k]) return -(i + 1);
  return i + w.length;
}
