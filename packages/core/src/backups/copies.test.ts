import { describe, expect, it } from 'vitest';
import { copiesOf, withoutCopies } from './copies.js';

describe('copiesOf', () => {
  it('lists each copy with its storage key', () => {
    const storage = {
      local: { key: 'a.json', path: '/x/a.json' },
      cloud: { key: 'a.json', publicId: 'backups/a.json', assetId: 'z', url: 'u' },
    };
    expect(copiesOf({ storage })).toEqual([
      { location: 'local', key: 'a.json' },
      { location: 'cloud', key: 'a.json' },
    ]);
    expect(copiesOf({ storage: { cloud: storage.cloud } })).toEqual([{ location: 'cloud', key: 'a.json' }]);
  });

  it('finds nothing in an empty or malformed storage value', () => {
    expect(copiesOf({ storage: {} })).toEqual([]);
    expect(copiesOf({ storage: null })).toEqual([]);
    expect(copiesOf({ storage: [1] })).toEqual([]);
    expect(copiesOf({ storage: { local: { path: '/x' } } })).toEqual([]);
  });
});

describe('withoutCopies', () => {
  it('drops the removed locations only', () => {
    expect(withoutCopies({ local: { key: 'a' }, cloud: { key: 'a' } }, ['local'])).toEqual({ cloud: { key: 'a' } });
    expect(withoutCopies(null, ['local'])).toEqual({});
  });
});
