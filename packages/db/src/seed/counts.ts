/** The eight domain tables the seeder fills, in foreign-key order (parents first). */
export const DOMAIN_TABLES = [
  'users',
  'unions',
  'union_members',
  'loan_types',
  'loans',
  'repayments',
  'audit_logs',
  'sessions',
] as const;
export type DomainTable = (typeof DOMAIN_TABLES)[number];

/** Rows per table for one seeding run. */
export type SeedCounts = Record<DomainTable, number>;

/**
 * Per table: rows at scale 1, rows at scale 1000 (the benchmark's 2.4 M-row mix), and the smallest
 * count any scale gets (so tiny scales still have every role and at least one of everything).
 */
const ANCHORS: Record<DomainTable, { at1: number; at1000: number; min: number }> = {
  users: { at1: 25, at1000: 1_000, min: 4 },
  unions: { at1: 10, at1000: 2_000, min: 1 },
  union_members: { at1: 300, at1000: 100_000, min: 2 },
  loan_types: { at1: 4, at1000: 20, min: 2 },
  loans: { at1: 150, at1000: 300_000, min: 1 },
  repayments: { at1: 450, at1000: 1_500_000, min: 1 },
  audit_logs: { at1: 500, at1000: 500_000, min: 1 },
  sessions: { at1: 20, at1000: 5_000, min: 1 },
};

/**
 * Row counts for a scale: `count(s) = max(min, round(at1 · s^p))` with `p = log(at1000 / at1) / log(1000)`,
 * so scale 1 gives the small demo and scale 1000 gives exactly the benchmark mix; staff and unions grow
 * slower than the business (p < 1), loans and repayments faster (more loans per member at scale).
 *
 * | table         | scale 0.1 | scale 1 | scale 400 | scale 1000 | p     |
 * |---------------|----------:|--------:|----------:|-----------:|------:|
 * | users         |         7 |      25 |       613 |      1,000 | 0.534 |
 * | unions        |         2 |      10 |       990 |      2,000 | 0.767 |
 * | union_members |        43 |     300 |    46,275 |    100,000 | 0.841 |
 * | loan_types    |         2 |       4 |        16 |         20 | 0.233 |
 * | loans         |        12 |     150 |   109,459 |    300,000 | 1.100 |
 * | repayments    |        30 |     450 |   511,438 |  1,500,000 | 1.174 |
 * | audit_logs    |        50 |     500 |   200,000 |    500,000 | 1.000 |
 * | sessions      |         3 |      20 |     2,404 |      5,000 | 0.799 |
 *
 * Totals: 1,459 rows at scale 1, 0.87 M at scale 400, 2.41 M at scale 1000 (≈1 M rows needs scale ≈ 450).
 * Throws a RangeError unless `scale` is a finite number above 0.
 */
export function countsForScale(scale: number): SeedCounts {
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`scale must be a number above 0, got ${scale}`);
  const counts = {} as SeedCounts;
  for (const table of DOMAIN_TABLES) {
    const { at1, at1000, min } = ANCHORS[table];
    const exponent = Math.log(at1000 / at1) / Math.log(1000);
    counts[table] = Math.max(min, Math.round(at1 * scale ** exponent));
  }
  return counts;
}
