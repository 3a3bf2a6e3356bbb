import { describe, expect, it } from 'vitest';
import { dependencyMessage } from './check-dependencies.js';
import { joinPhrases } from './entities.js';

describe('dependencyMessage', () => {
  it('names what blocks the delete, pluralised', () => {
    expect(
      dependencyMessage(
        'union',
        [
          { count: 5, one: 'active loan', many: 'active loans' },
          { count: 12, one: 'member', many: 'members' },
        ],
        [],
      ),
    ).toBe('Cannot delete: 5 active loans and 12 members depend on this union');
    expect(
      dependencyMessage(
        'union',
        [
          { count: 0, one: 'active loan', many: 'active loans' },
          { count: 1, one: 'member', many: 'members' },
        ],
        [],
      ),
    ).toBe('Cannot delete: 1 member depends on this union');
    expect(dependencyMessage('loan type', [{ count: 1, one: 'active loan', many: 'active loans' }], [])).toBe(
      'Cannot delete: 1 active loan depends on this loan type',
    );
  });

  it('says nothing depends, and mentions side effects', () => {
    expect(dependencyMessage('union', [{ count: 0, one: 'member', many: 'members' }], [])).toBe(
      'Can be deleted: nothing depends on this union',
    );
    expect(dependencyMessage('user', [], ['ends 2 active sessions'])).toBe(
      'Can be deleted: nothing depends on this user; deleting it ends 2 active sessions',
    );
  });
});

describe('joinPhrases', () => {
  it('joins with commas and a final "and"', () => {
    expect(joinPhrases([])).toBe('');
    expect(joinPhrases(['a'])).toBe('a');
    expect(joinPhrases(['a', 'b'])).toBe('a and b');
    expect(joinPhrases(['a', 'b', 'c'])).toBe('a, b and c');
  });
});
