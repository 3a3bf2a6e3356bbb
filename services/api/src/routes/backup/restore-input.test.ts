import { describe, expect, it } from 'vitest';
import { sniffFormat } from './restore-input.js';

describe('sniffFormat', () => {
  it.each([
    [[0x1f, 0x8b, 0x08], 'gzip'],
    [[0x1f], 'undecided'],
    [[0x1f, 0x00], 'invalid'],
    [[...Buffer.from('  \n{"a":1}')], 'json'],
    [[0xef, 0xbb, 0xbf, ...Buffer.from('{')], 'json'],
    [[0xef, 0xbb], 'undecided'],
    [[...Buffer.from('   ')], 'undecided'],
    [[...Buffer.from('[1,2]')], 'invalid'],
    [[...Buffer.from('PK\u0003\u0004')], 'invalid'],
    [[], 'undecided'],
  ])('%j → %s', (bytes, expected) => {
    expect(sniffFormat(Buffer.from(bytes))).toBe(expected);
  });
});
