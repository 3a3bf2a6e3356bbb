// The export's read-back of two copies checks the content once: the local copy in full, the other copy's bytes
// only, its report carrying the local copy's content outcome when both match the record; a copy that does not
// match is checked in full. Two local storages in temporary folders stand for the local and cloud copies
// (the cloud path through the emulator is in tests/integration/read-back.test.ts); no services.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createLogger } from '@mp/logger';
import { createLocalStorage } from '@mp/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageSet } from '../deps.js';
import { verifyReportSchema, type VerifyReport } from '../verify/report.js';
import { checkAsWritten } from '../verify/read-copy.js';
import { readBackCopies } from './read-back.js';
import { SMALL_HEAD, expectedFor } from '../verify/small-document.test-fixture.js';

const fileOf = (loans: string[]) =>
  `${SMALL_HEAD}"loans":[\n` + `${loans.map((l) => `{"id":"${l}"}`).join('\n,')}\n]\n}}\n`;
const GOOD = fileOf(['l1', 'l2']);
/** The same length as GOOD, one byte changed inside a row: still a valid document. */
const ALTERED = fileOf(['l1', 'l3']);
/** A row more than the metadata promises: fails `counts` whatever the checksum. */
const WRONG_COUNT = fileOf(['l1', 'l2', 'l3']);

const FULL = ['readable', 'size', 'checksum', 'parse', 'metadata', 'counts'];
const BYTES_AND_CONTENT = ['readable', 'size', 'checksum', 'content'];

let root: string;
let storage: StorageSet;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mp-read-back-'));
  storage = {
    local: createLocalStorage({ dir: path.join(root, 'local') }),
    cloud: createLocalStorage({ dir: path.join(root, 'cloud') }),
  };
});
afterAll(() => rm(root, { recursive: true, force: true }));

/**
 * Stores `local` and `cloud` under `key` and reads both back against a record of `recorded`'s bytes; with
 * `written`, as an export does: those bytes checked on their way to storage.
 */
async function readBack(key: string, texts: { local: string; cloud: string; recorded: string; written?: string }) {
  await Promise.all(
    (['local', 'cloud'] as const).map((at) => storage[at]!.put(key, Readable.from([Buffer.from(texts[at])]))),
  );
  const expected = expectedFor(Buffer.from(texts.recorded));
  const stored = {
    local: { key, path: path.join(root, 'local', key) },
    cloud: { key, publicId: key, assetId: '', url: '' },
  };
  const written =
    texts.written === undefined
      ? undefined
      : await checkAsWritten(Readable.from([Buffer.from(texts.written)]), false, new Map());
  return readBackCopies({ storage, logger }, expected, stored, { keepUnreadable: false, written });
}

const copyOf = (report: VerifyReport, copy: 'local' | 'cloud') => report.copies.find((c) => c.copy === copy)!;
const names = (report: VerifyReport, copy: 'local' | 'cloud') => copyOf(report, copy).checks.map((c) => c.name);

describe('read-back of two copies', () => {
  it('checks the content on the local copy only; the cloud copy, same bytes, carries its outcome', async () => {
    const { report, storage: kept, failed } = await readBack('good.json', { local: GOOD, cloud: GOOD, recorded: GOOD });
    expect(report.ok).toBe(true);
    expect(names(report, 'local')).toEqual(FULL);
    expect(copyOf(report, 'cloud')).toEqual({
      copy: 'cloud',
      ok: true,
      checks: [
        { name: 'readable', ok: true },
        { name: 'size', ok: true, details: `${GOOD.length} bytes` },
        { name: 'checksum', ok: true },
        {
          name: 'content',
          ok: true,
          details:
            'same bytes as the local copy (size and SHA-256 match the record), whose content was checked: parse, ' +
            'metadata, counts passed; this copy was read in full and hashed, its content not checked again',
        },
      ],
    });
    expect(failed).toEqual([]);
    expect(Object.keys(kept)).toEqual(['local', 'cloud']);
    // Stored on the record as JSON and read back with the report's schema: `content` is a check it knows.
    expect(verifyReportSchema.safeParse(JSON.parse(JSON.stringify(report))).success).toBe(true);
  });

  it('a content failure on the local copy fails the cloud copy of the same bytes; both are dropped', async () => {
    const texts = { local: WRONG_COUNT, cloud: WRONG_COUNT, recorded: WRONG_COUNT };
    const { report, storage: kept, failed } = await readBack('wrong-count.json', texts);
    expect(report.ok).toBe(false);
    expect(names(report, 'local')).toEqual(FULL);
    expect(names(report, 'cloud')).toEqual(BYTES_AND_CONTENT);
    expect(report.problems).toEqual([
      'local copy: counts: loans: metadata says 2 rows, the file has 3',
      expect.stringMatching(/^cloud copy: content: same bytes as the local copy .*: counts failed; /),
    ]);
    expect(failed.map((f) => f.copy)).toEqual(['local', 'cloud']);
    expect(kept).toEqual({});
  });

  it('a cloud copy whose bytes differ gets the full checks, names its checksum, and is dropped', async () => {
    const { report, storage: kept } = await readBack('cloud-altered.json', {
      local: GOOD,
      cloud: ALTERED,
      recorded: GOOD,
    });
    expect(names(report, 'local')).toEqual(FULL);
    expect(names(report, 'cloud')).toEqual(FULL);
    expect(copyOf(report, 'cloud').checks.filter((c) => !c.ok)).toEqual([
      { name: 'checksum', ok: false, details: expect.stringMatching(/^SHA-256 \w+ differs from the recorded \w+$/) },
    ]);
    expect(Object.keys(kept)).toEqual(['local']);
  });

  it('a local copy whose bytes differ: the cloud copy is checked in full, not vouched for by it', async () => {
    const { report, storage: kept } = await readBack('local-altered.json', {
      local: ALTERED,
      cloud: GOOD,
      recorded: GOOD,
    });
    expect(
      copyOf(report, 'local')
        .checks.filter((c) => !c.ok)
        .map((c) => c.name),
    ).toEqual(['checksum']);
    expect(copyOf(report, 'cloud')).toMatchObject({ ok: true });
    expect(names(report, 'cloud')).toEqual(FULL);
    expect(Object.keys(kept)).toEqual(['cloud']);
  });

  describe('with the bytes checked as they were written', () => {
    const AS_WRITTEN = /^the bytes written, whose content was checked as they were written/;

    it('reads each copy for its bytes only; each report carries the content checks of those bytes', async () => {
      const texts = { local: GOOD, cloud: GOOD, recorded: GOOD, written: GOOD };
      const { report, storage: kept, failed } = await readBack('written-good.json', texts);
      expect(report.ok).toBe(true);
      for (const copy of ['local', 'cloud'] as const) {
        expect(names(report, copy)).toEqual(FULL);
        expect(copyOf(report, copy).checks.find((c) => c.name === 'checksum')?.details).toMatch(AS_WRITTEN);
      }
      expect(copyOf(report, 'local').checks.at(-1)).toEqual({
        name: 'counts',
        ok: true,
        details: '3 rows in 2 tables',
      });
      expect(failed).toEqual([]);
      expect(Object.keys(kept)).toEqual(['local', 'cloud']);
    });

    it('a stored copy whose bytes differ from those written is read in full and names its checksum', async () => {
      const texts = { local: ALTERED, cloud: GOOD, recorded: GOOD, written: GOOD };
      const { report, storage: kept } = await readBack('written-local-altered.json', texts);
      expect(names(report, 'local')).toEqual(FULL);
      expect(copyOf(report, 'local').checks.find((c) => c.name === 'checksum')).toEqual({
        name: 'checksum',
        ok: false,
        details: expect.stringMatching(/^SHA-256 \w+ differs from the recorded \w+$/),
      });
      expect(copyOf(report, 'cloud').checks.find((c) => c.name === 'checksum')?.details).toMatch(AS_WRITTEN);
      expect(Object.keys(kept)).toEqual(['cloud']);
    });

    it('content that failed as written is read from the stored copy in full, which names the problem', async () => {
      const texts = { local: WRONG_COUNT, cloud: WRONG_COUNT, recorded: WRONG_COUNT, written: WRONG_COUNT };
      const { report, storage: kept } = await readBack('written-wrong-count.json', texts);
      expect(names(report, 'local')).toEqual(FULL);
      expect(report.problems[0]).toBe('local copy: counts: loans: metadata says 2 rows, the file has 3');
      expect(copyOf(report, 'local').checks.find((c) => c.name === 'checksum')?.details).toBeUndefined();
      expect(kept).toEqual({});
    });

    it("bytes written that are not the record's do not vouch for any copy: the copies are read in full", async () => {
      const texts = { local: GOOD, cloud: GOOD, recorded: GOOD, written: ALTERED };
      const { report } = await readBack('written-other.json', texts);
      expect(report.ok).toBe(true);
      expect(names(report, 'local')).toEqual(FULL);
      expect(copyOf(report, 'local').checks.find((c) => c.name === 'checksum')?.details).toBeUndefined();
      expect(names(report, 'cloud')).toEqual(BYTES_AND_CONTENT);
    });
  });
});
