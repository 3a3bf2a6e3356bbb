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

describe('the dependency graph and the dependency check', () => {
  it('blocks a delete exactly on the restrict relations of each entity type', async () => {
    const { ENTITY_DEFINITIONS } = await import('./entities.js');
    const { RELATIONS, ENTITY_TABLES } = await import('./graph.js');
    for (const [type, def] of Object.entries(ENTITY_DEFINITIONS)) {
      const table = ENTITY_TABLES[type as keyof typeof ENTITY_TABLES];
      const direct = RELATIONS.filter((r) => r.parent === table && r.dependent);
      expect(direct.length).toBeGreaterThan(0);
      for (const r of direct) {
        // Only this relation has a row: the check blocks the delete iff the relation is restrictive.
        const counts = Object.fromEntries(direct.map((o) => [o.dependent!, o === r ? 1 : 0]));
        const blocked = (def.blockers as (c: Record<string, number>) => { count: number }[])(counts).some(
          (p) => p.count > 0,
        );
        expect([type, r.column, blocked]).toEqual([type, r.column, r.onDelete === 'restrict']);
      }
    }
  });
});
