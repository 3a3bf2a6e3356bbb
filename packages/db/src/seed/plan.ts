import type pg from 'pg';
import type { SeedCounts } from './counts.js';
import type { Statement } from './sql-kit.js';

/**
 * Who is who among the seeded users, by ordinal (1-based): admins first, then supervisors, then
 * credit officers. Every 17th credit officer (never the first) is inactive; unions only get active ones.
 */
export interface StaffPlan {
  admins: number;
  supervisors: number;
  /** Ordinal of the first credit officer. */
  firstOfficer: number;
  /** Ordinals of the active credit officers, in order. Never empty. */
  activeOfficers: number[];
}

/** Everything one seeding run needs; built once, read by every step. */
export interface SeedContext {
  client: pg.PoolClient;
  seed: number;
  /** "Now" for the generated history; every business timestamp lies before it. */
  anchor: Date;
  counts: SeedCounts;
  staff: StaffPlan;
}

/** Splits `users` (at least 4) into 1–2 admins, ~10 % supervisors and the rest credit officers. */
export function planStaff(users: number): StaffPlan {
  const admins = users >= 20 ? 2 : 1;
  const supervisors = Math.max(1, Math.round(users * 0.1));
  const firstOfficer = admins + supervisors + 1;
  const activeOfficers: number[] = [];
  for (let i = firstOfficer; i <= users; i++) if (!isInactiveOfficer(i, firstOfficer)) activeOfficers.push(i);
  return { admins, supervisors, firstOfficer, activeOfficers };
}

function isInactiveOfficer(ordinal: number, firstOfficer: number): boolean {
  return (ordinal - firstOfficer) % 17 === 16;
}

/** SQL twin of `isInactiveOfficer` (keep them in step). */
export function inactiveOfficerSql(ordinal: string, firstOfficer: number): string {
  return `((${ordinal}) >= ${firstOfficer} AND ((${ordinal}) - ${firstOfficer}) % 17 = 16)`;
}

// Salts used by more than one statement (the same salt must give the same answer everywhere).
const SALT_MEMBER_UNION = 3001;

/** Union ordinal of member `m`: the first members fill every union once, the rest land at random. */
export function unionOfMemberSql(st: Statement, m: string, unions: number): string {
  return `(CASE WHEN (${m}) <= ${unions} THEN (${m}) ELSE 1 + ${st.pick(m, SALT_MEMBER_UNION, unions)} END)`;
}

/** User ordinal of the (active) credit officer who runs union `u`. */
export function officerOfUnionSql(st: Statement, u: string, staff: StaffPlan): string {
  const officers = st.param(staff.activeOfficers, 'int[]');
  return `(${officers})[1 + ((${u}) - 1) % ${staff.activeOfficers.length}]`;
}
