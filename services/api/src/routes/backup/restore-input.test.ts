import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { saveUpload, sniffFormat } from './restore-input.js';

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
    [[...Buffer.from('MPBE\u0001\u0002k1')], 'encrypted'],
    [[...Buffer.from('MPB')], 'undecided'],
    [[...Buffer.from('MPBX')], 'invalid'],
    [[...Buffer.from('Mx')], 'invalid'],
  ])('%j → %s', (bytes, expected) => {
    expect(sniffFormat(Buffer.from(bytes))).toBe(expected);
  });
});

describe('saveUpload', () => {
  it.each([
    [
      'fails before its first byte',
      () =>
        new Readable({
          read() {
            this.destroy(new Error('connection reset'));
          },
        }),
      'connection reset',
    ],
    ['is not a backup', () => Readable.from([Buffer.from('PK\u0003\u0004zip')]), 'neither JSON nor gzip'],
    ['is empty', () => Readable.from([]), 'The uploaded file is empty (0 bytes)'],
    ['is blank', () => Readable.from([Buffer.from(' \n')]), 'neither JSON nor gzip'],
  ])('leaves no file behind when the upload %s', async (_name, body, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'save-upload-'));
    try {
      await expect(saveUpload(body(), dir, 'op-1')).rejects.toThrow(message);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
