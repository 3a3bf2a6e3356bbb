// The JSON bytes the backup format's byte-level readers look at: the structure scanner (json-scanner.ts), the
// row-per-line reader (line-reader.ts), the COPY text encoder (copy-text.ts) and the row check
// (json-check.ts). One spelling for all four, and the byte tests they share.

export const TAB = 0x09;
export const NEWLINE = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const QUOTE = 0x22;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const SLASH = 0x2f;
export const DIGIT_0 = 0x30;
export const DIGIT_9 = 0x39;
export const COLON = 0x3a;
export const UPPER_E = 0x45;
export const UPPER_N = 0x4e;
export const OPEN_BRACKET = 0x5b;
export const BACKSLASH = 0x5c;
export const CLOSE_BRACKET = 0x5d;
export const LOWER_B = 0x62;
export const LOWER_E = 0x65;
export const LOWER_F = 0x66;
export const LOWER_N = 0x6e;
export const LOWER_R = 0x72;
export const LOWER_T = 0x74;
export const LOWER_U = 0x75;
export const LOWER_X = 0x78;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
/** Below this, a byte is a control character, which a JSON string may not hold raw. */
export const FIRST_PRINTABLE = SPACE;

/** JSON's insignificant whitespace (RFC 8259 §2): space, tab, line feed, carriage return. */
export function isJsonWhitespace(b: number): boolean {
  return b === SPACE || b === NEWLINE || b === CR || b === TAB;
}

export function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= DIGIT_0 && b <= DIGIT_9;
}

export function isHexDigit(b: number): boolean {
  return (b >= DIGIT_0 && b <= DIGIT_9) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
}

/** After a backslash in a JSON string, a byte that ends a two-byte escape: `" \ / b f n r t` (not `u`). */
export function isShortEscape(e: number | undefined): e is number {
  return (
    e === QUOTE ||
    e === BACKSLASH ||
    e === SLASH ||
    e === LOWER_B ||
    e === LOWER_F ||
    e === LOWER_N ||
    e === LOWER_R ||
    e === LOWER_T
  );
}

/** End of the JSON number at `i` (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or -1 when there is none. */
export function jsonNumberEnd(r: Uint8Array, i: number): number {
  if (r[i] === MINUS) i++;
  if (r[i] === DIGIT_0) i++;
  else if (isDigit(r[i])) while (isDigit(r[i])) i++;
  else return -1;
  if (r[i] === DOT) {
    if (!isDigit(r[++i])) return -1;
    while (isDigit(r[i])) i++;
  }
  if (r[i] === LOWER_E || r[i] === UPPER_E) {
    if (r[i + 1] === PLUS || r[i + 1] === MINUS) i++;
    if (!isDigit(r[++i])) return -1;
    while (isDigit(r[i])) i++;
  }
  return i;
}
