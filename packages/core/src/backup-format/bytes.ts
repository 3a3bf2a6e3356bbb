// The JSON bytes the backup format's byte-level readers look at: the structure scanner (json-scanner.ts), the
// row-per-line reader (line-reader.ts) and the COPY text encoder (copy-text.ts). One spelling for all three.

export const TAB = 0x09;
export const NEWLINE = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACKET = 0x5b;
export const BACKSLASH = 0x5c;
export const CLOSE_BRACKET = 0x5d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

/** JSON's insignificant whitespace (RFC 8259 §2): space, tab, line feed, carriage return. */
export function isJsonWhitespace(b: number): boolean {
  return b === SPACE || b === NEWLINE || b === CR || b === TAB;
}
