import type { LoanStatus, PrismaClient } from '@mp/db';

/** Loan states that still involve money or a decision; a loan in one of them is "active". */
export const ACTIVE_LOAN_STATUSES = [
  'PENDING',
  'APPROVED',
  'ACTIVE',
  'DEFAULTED',
] as const satisfies readonly LoanStatus[];

type Db = Pick<PrismaClient, 'user' | 'union' | 'unionMember' | 'loanType' | 'loan' | 'repayment' | 'session'>;

/** A count worth putting in a message, with its singular and plural wording. */
export interface Phrase {
  count: number;
  one: string;
  many: string;
}

/** How one entity type is checked: its existence, its dependent counts, and how they read. */
export interface EntityDefinition<K extends string = string> {
  /** Wording in messages ("union member"). */
  label: string;
  exists(db: Db, id: string): Promise<boolean>;
  count(db: Db, id: string, now: Date): Promise<Record<K, number>>;
  /** Dependents that make a delete fail (restrictive foreign keys), in message order; empty = deletable. */
  blockers(counts: Record<K, number>): Phrase[];
  /** What a delete would change without being blocked (cascades, links set to null). */
  effects?(counts: Record<K, number>): string[];
}

const activeLoan = { status: { in: [...ACTIVE_LOAN_STATUSES] } };

/** "5 loans (2 active)", "2 active loans", or "5 loans". */
function loanPhrase(loans: number, activeLoans: number): Phrase {
  if (activeLoans === 0 || activeLoans === loans) {
    return activeLoans > 0
      ? { count: loans, one: 'active loan', many: 'active loans' }
      : { count: loans, one: 'loan', many: 'loans' };
  }
  return { count: loans, one: 'loan', many: `loans (${activeLoans} active)` };
}

export function countPhrase(p: Phrase): string {
  return `${p.count} ${p.count === 1 ? p.one : p.many}`;
}

const user: EntityDefinition<
  | 'unions'
  | 'supervisees'
  | 'loansCreated'
  | 'loansApproved'
  | 'repaymentsReceived'
  | 'unionMembersCreated'
  | 'activeSessions'
> = {
  label: 'user',
  exists: async (db, id) => (await db.user.count({ where: { id } })) > 0,
  count: async (db, id, now) => {
    const [unions, supervisees, loansCreated, loansApproved, repaymentsReceived, unionMembersCreated, activeSessions] =
      await Promise.all([
        db.union.count({ where: { creditOfficerId: id } }),
        db.user.count({ where: { supervisorId: id } }),
        db.loan.count({ where: { createdById: id } }),
        db.loan.count({ where: { approvedById: id } }),
        db.repayment.count({ where: { receivedById: id } }),
        db.unionMember.count({ where: { createdById: id } }),
        db.session.count({ where: { userId: id, revokedAt: null, expiresAt: { gt: now } } }),
      ]);
    return {
      unions,
      supervisees,
      loansCreated,
      loansApproved,
      repaymentsReceived,
      unionMembersCreated,
      activeSessions,
    };
  },
  blockers: (c) => [
    { count: c.unions, one: 'union', many: 'unions' },
    { count: c.supervisees, one: 'supervisee', many: 'supervisees' },
    { count: c.loansCreated, one: 'loan created', many: 'loans created' },
    { count: c.loansApproved, one: 'loan approved', many: 'loans approved' },
  ],
  effects: (c) => {
    const out: string[] = [];
    if (c.activeSessions > 0)
      out.push(`ends ${countPhrase({ count: c.activeSessions, one: 'active session', many: 'active sessions' })}`);
    const unlinked = [
      { count: c.repaymentsReceived, one: 'repayment', many: 'repayments' },
      { count: c.unionMembersCreated, one: 'union member', many: 'union members' },
    ].filter((p) => p.count > 0);
    if (unlinked.length > 0) out.push(`removes the user from ${joinPhrases(unlinked.map(countPhrase))}`);
    return out;
  },
};

const union: EntityDefinition<'unionMembers' | 'loans' | 'activeLoans' | 'repayments'> = {
  label: 'union',
  exists: async (db, id) => (await db.union.count({ where: { id } })) > 0,
  count: async (db, id) => {
    const ofUnion = { unionMember: { unionId: id } };
    const [unionMembers, loans, activeLoans, repayments] = await Promise.all([
      db.unionMember.count({ where: { unionId: id } }),
      db.loan.count({ where: ofUnion }),
      db.loan.count({ where: { ...ofUnion, ...activeLoan } }),
      db.repayment.count({ where: { loan: ofUnion } }),
    ]);
    return { unionMembers, loans, activeLoans, repayments };
  },
  // Loans hang off members, so members always block when loans exist; active loans are named first.
  blockers: (c) => [
    { count: c.activeLoans, one: 'active loan', many: 'active loans' },
    { count: c.unionMembers, one: 'member', many: 'members' },
  ],
};

const unionMember: EntityDefinition<'loans' | 'activeLoans' | 'repayments'> = {
  label: 'union member',
  exists: async (db, id) => (await db.unionMember.count({ where: { id } })) > 0,
  count: async (db, id) => {
    const [loans, activeLoans, repayments] = await Promise.all([
      db.loan.count({ where: { unionMemberId: id } }),
      db.loan.count({ where: { unionMemberId: id, ...activeLoan } }),
      db.repayment.count({ where: { loan: { unionMemberId: id } } }),
    ]);
    return { loans, activeLoans, repayments };
  },
  blockers: (c) => [loanPhrase(c.loans, c.activeLoans)],
};

const loanType: EntityDefinition<'loans' | 'activeLoans'> = {
  label: 'loan type',
  exists: async (db, id) => (await db.loanType.count({ where: { id } })) > 0,
  count: async (db, id) => {
    const [loans, activeLoans] = await Promise.all([
      db.loan.count({ where: { loanTypeId: id } }),
      db.loan.count({ where: { loanTypeId: id, ...activeLoan } }),
    ]);
    return { loans, activeLoans };
  },
  blockers: (c) => [loanPhrase(c.loans, c.activeLoans)],
};

/** Every entity type the dependency check supports, by its API name. */
export const ENTITY_DEFINITIONS = { user, union, unionMember, loanType } as const;
export type EntityType = keyof typeof ENTITY_DEFINITIONS;
export const ENTITY_TYPES = Object.keys(ENTITY_DEFINITIONS) as EntityType[];

/** "a", "a and b", "a, b and c". */
export function joinPhrases(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
