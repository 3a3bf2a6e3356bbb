// The read-back's second pass: a file that starts in this product's line layout and leaves it part way is
// read again through the structural scan, so the report names the document's problem, not the first line
// out of place. A local storage in a temporary folder; no services.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalStorage } from '@mp/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageSet } from '../deps.js';
import { readBackCopy } from './read-copy.js';
import { SMALL_HEAD as OUR_HEAD, expectedFor } from './small-document.test-fixture.js';

let dir: string;
let storage: StorageSet;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mp-read-copy-'));
  storage = { local: createLocalStorage({ dir }), cloud: null };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Stores `text` as a local copy and reads it back against a record that matches its bytes. */
async function readBack(name: string, text: string) {
  const bytes = Buffer.from(text);
  await writeFile(path.join(dir, name), bytes);
  const expected = expectedFor(bytes);
  return readBackCopy(storage, expected, { location: 'local', key: name });
}

const STORED_OK = (text: string) => [
  { name: 'readable', ok: true },
  { name: 'size', ok: true, details: `${Buffer.byteLength(text)} bytes` },
  { name: 'checksum', ok: true },
];

describe('read-back of a file that leaves this product’s layout part way', () => {
  it('valid JSON: the structural scan counts the rows, and the report names the count that is wrong', async () => {
    // The loans table on one line, with one row more than the metadata promises.
    const text = `${OUR_HEAD}"loans":[{"id":"l1"},{"id":"l2"},{"id":"l3"}]\n}}\n`;
    expect(JSON.parse(text)).toMatchObject({ data: { loans: [{}, {}, {}] } });
    const report = await readBack('valid.json', text);
    expect(report).toEqual({
      copy: 'local',
      ok: false,
      checks: [
        ...STORED_OK(text),
        { name: 'parse', ok: true },
        { name: 'metadata', ok: true },
        { name: 'counts', ok: false, details: 'loans: metadata says 2 rows, the file has 3' },
      ],
    });
  });

  it('invalid JSON: the parse check names the table and row the structural scan found wrong', async () => {
    // A row closed with "]" instead of "}", on a line out of the layout.
    const text = `${OUR_HEAD}"loans":[{"id":"l1"},{"id":"l2"]]\n}}\n`;
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const report = await readBack('invalid.json', text);
    expect(report).toEqual({
      copy: 'local',
      ok: false,
      checks: [
        ...STORED_OK(text),
        { name: 'parse', ok: false, details: 'loans: row 1 is not valid JSON ("," or "}" expected (byte 10))' },
        { name: 'metadata', ok: true },
      ],
    });
  });
});
