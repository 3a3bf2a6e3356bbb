import { describe, expect, it } from 'vitest';
import { readRecordStorage } from './backups/record-storage.js';
import { readLabels } from './backups/labels.js';
import { readRestoreFlags, uploadPathOf } from './restore/operation-inputs.js';
import { verdictOf } from './verify/report.js';

// JSON columns are read back with the zod schema beside their type; these readers never throw on odd rows.
describe('stored JSON read back', () => {
  it('record storage: a copy of unknown shape counts as no copy; cloud fields default to empty text', () => {
    expect(
      readRecordStorage({
        local: { key: 'a.json', path: '/b/a.json' },
        cloud: { key: 'a.json', publicId: 'p', assetId: 7 },
      }),
    ).toEqual({
      local: { key: 'a.json', path: '/b/a.json' },
      cloud: { key: 'a.json', publicId: 'p', assetId: '7', url: '' },
    });
    expect(readRecordStorage({ local: { key: 1, path: '/x' }, cloud: { publicId: 'p' } })).toEqual({});
    expect(readRecordStorage(null)).toEqual({});
    expect(Object.keys(readRecordStorage({ cloud: { key: 'k' } }))).toEqual(['cloud']);
  });

  it('labels: string values only; anything but an object reads as none', () => {
    expect(readLabels({ reason: 'pre-migration', n: 3 })).toEqual({ reason: 'pre-migration' });
    expect(readLabels(['x'])).toEqual({});
    expect(readLabels(null)).toEqual({});
  });

  it('operation inputs: restore flags, the uploaded file of a sourced operation', () => {
    expect(
      readRestoreFlags({ source: { kind: 'backup', backupId: 'b' }, skipSafetyBackup: true, tables: ['loans'] }),
    ).toEqual({ skipSafetyBackup: true, selective: true });
    expect(readRestoreFlags({ skipSafetyBackup: 'yes', tables: 'loans' })).toEqual({
      skipSafetyBackup: false,
      selective: false,
    });
    expect(uploadPathOf({ source: { kind: 'file', path: '/u/x.json', compressed: false } })).toBe('/u/x.json');
    expect(uploadPathOf({ source: { kind: 'backup', backupId: 'b' } })).toBeNull();
    expect(uploadPathOf({ source: { kind: 'file', path: 3 } })).toBeNull();
  });

  it('verdict: a boolean ok, else undefined', () => {
    expect(verdictOf({ ok: false, copies: [] })).toBe(false);
    expect(verdictOf({ ok: 'no' })).toBeUndefined();
    expect(verdictOf(null)).toBeUndefined();
  });
});
