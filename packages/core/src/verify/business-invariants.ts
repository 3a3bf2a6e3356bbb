import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent } from '../backup-format/catalog.js';
import { seededHash64Sql } from '../sql/dialect.js';

/** The microfinance rules checked by {@link checkBusinessInvariants}; stable, for UIs and alerts. */
export const INVARIANT_CODES = [
  'LOAN_AMOUNT_PAID_MISMATCH',
  'REPAYMENT_ON_UNDISBURSED_LOAN',
  'REPAYMENT_BEFORE_DISBURSEMENT',
  'REPAYMENT_AMOUNT_NOT_POSITIVE',
  'LOAN_TOTAL_DUE_BELOW_PRINCIPAL',
  'LOAN_OVERPAID',
  'COMPLETED_LOAN_NOT_PAID_OFF',
  'ACTIVE_LOAN_OF_INACTIVE_MEMBER',
  'UNION_WITHOUT_ACTIVE_CREDIT_OFFICER',
  'SUPERVISOR_NOT_SUPERVISOR',
] as const;
export type InvariantCode = (typeof INVARIANT_CODES)[number];

/** One broken rule: how many rows break it and the ids of a few of them (from `table`), smallest first. */
export interface InvariantWarning {
  code: InvariantCode;
  message: string;
  /** The table `examples` are ids of. */
  table: 'loans' | 'repayments' | 'unions' | 'users';
  count: number;
  examples: string[];
}

interface Rule {
  code: InvariantCode;
  table: InvariantWarning['table'];
  /** The rows that break the rule, as one `SELECT <id>`; `s` is the quoted schema. */
  sql(s: string): string;
  /**
   * The rule's condition when it is one row of `loans l` (or of `repayments r`, with `l` its loan when `joinsLoan`):
   * its own query and its count in {@link screenSql} are both built from it, so the two cannot disagree.
   */
  screen?: { over: 'loans' | 'repayments'; where: string; joinsLoan?: boolean };
  message(count: number): string;
}

/** A rule whose condition is one row of loans or of repayments: {@link screenSql} counts it; `sql` is derived. */
function screened(rule: Omit<Rule, 'sql'> & { screen: NonNullable<Rule['screen']> }): Rule {
  const { over, where, joinsLoan } = rule.screen;
  const sql =
    over === 'loans'
      ? (s: string) => `SELECT l.id FROM ${s}.loans l WHERE ${where}`
      : joinsLoan
        ? (s: string) => `SELECT r.id FROM ${s}.repayments r JOIN ${s}.loans l ON l.id = r."loanId" WHERE ${where}`
        : (s: string) => `SELECT r.id FROM ${s}.repayments r WHERE ${where}`;
  return { ...rule, sql };
}

// Enum columns are compared with plain literals (no ::text cast), so the same SQL runs against the live
// enum-typed tables and keeps the `loans.status` index usable.
const RULES: readonly Rule[] = [
  {
    code: 'LOAN_AMOUNT_PAID_MISMATCH',
    table: 'loans',
    // One aggregate over loans and repayments together: joining loans to a per-loan sum made the planner
    // walk all repayments through the loanId index (random heap reads), several times slower at 1.5 M repayments.
    // `bool_or(loan)` keeps repayments whose loan does not exist out of this rule.
    sql: (s) => `SELECT id FROM (SELECT id, "amountPaid" AS v, true AS loan FROM ${s}.loans
                                 UNION ALL SELECT "loanId", -amount, false FROM ${s}.repayments) x
                 GROUP BY id HAVING bool_or(loan) AND sum(v) <> 0`,
    message: (n) => `${n} loan(s) have an amountPaid that differs from the sum of their repayments`,
  },
  screened({
    code: 'REPAYMENT_ON_UNDISBURSED_LOAN',
    table: 'repayments',
    screen: {
      over: 'repayments',
      where: `l.status IN ('PENDING', 'APPROVED') OR l."disbursedAt" IS NULL`,
      joinsLoan: true,
    },
    message: (n) =>
      `${n} repayment(s) belong to a loan that was never disbursed (status PENDING or APPROVED, or no disbursedAt)`,
  }),
  screened({
    code: 'REPAYMENT_BEFORE_DISBURSEMENT',
    table: 'repayments',
    screen: { over: 'repayments', where: `r."paidAt" < l."disbursedAt"`, joinsLoan: true },
    message: (n) => `${n} repayment(s) were paid before their loan was disbursed`,
  }),
  screened({
    code: 'REPAYMENT_AMOUNT_NOT_POSITIVE',
    table: 'repayments',
    screen: { over: 'repayments', where: `r.amount <= 0` },
    message: (n) => `${n} repayment(s) have an amount of zero or less`,
  }),
  screened({
    code: 'LOAN_TOTAL_DUE_BELOW_PRINCIPAL',
    table: 'loans',
    screen: { over: 'loans', where: `l."totalDue" < l.principal` },
    message: (n) => `${n} loan(s) have a totalDue below their principal`,
  }),
  screened({
    code: 'LOAN_OVERPAID',
    table: 'loans',
    screen: { over: 'loans', where: `l."amountPaid" > l."totalDue"` },
    message: (n) => `${n} loan(s) have an amountPaid above their totalDue (overpaid)`,
  }),
  screened({
    code: 'COMPLETED_LOAN_NOT_PAID_OFF',
    table: 'loans',
    screen: { over: 'loans', where: `l.status = 'COMPLETED' AND l."amountPaid" < l."totalDue"` },
    message: (n) => `${n} COMPLETED loan(s) have an amountPaid below their totalDue`,
  }),
  {
    code: 'ACTIVE_LOAN_OF_INACTIVE_MEMBER',
    table: 'loans',
    sql: (s) => `SELECT l.id FROM ${s}.loans l JOIN ${s}.union_members m ON m.id = l."unionMemberId"
                 WHERE l.status = 'ACTIVE' AND NOT m."isActive"`,
    message: (n) => `${n} ACTIVE loan(s) belong to an inactive union member`,
  },
  {
    // A closed union may keep an officer who has since left; an open one may not.
    code: 'UNION_WITHOUT_ACTIVE_CREDIT_OFFICER',
    table: 'unions',
    sql: (s) => `SELECT u.id FROM ${s}.unions u LEFT JOIN ${s}.users x ON x.id = u."creditOfficerId"
                 WHERE x.id IS NULL OR x.role <> 'CREDIT_OFFICER' OR (u."isActive" AND NOT x."isActive")`,
    message: (n) =>
      `${n} union(s) have a creditOfficerId that is missing, not a CREDIT_OFFICER, or (for an active union) an ` +
      `inactive user`,
  },
  {
    code: 'SUPERVISOR_NOT_SUPERVISOR',
    table: 'users',
    sql: (s) => `SELECT u.id FROM ${s}.users u LEFT JOIN ${s}.users x ON x.id = u."supervisorId"
                 WHERE u."supervisorId" IS NOT NULL AND (x.id IS NULL OR x.id = u.id OR x.role NOT IN
                   ('SUPERVISOR', 'ADMIN'))`,
    message: (n) => `${n} user(s) have a supervisor that is missing, themselves, or neither SUPERVISOR nor ADMIN`,
  },
];

/**
 * One pass over repayments (hash-joined to loans) and one over loans that tell which of the rules on those two
 * tables may be broken, so that only those run their own query for the count and the examples. The rules alone
 * took about 7 s at 1.5 M repayments, the amountPaid rule 3–4 s of it (a 300,000-group aggregate); the screen
 * 2–4 s on the same busy machine (2026-12-02). Its row has one boolean per screened rule, named by its code, true
 * when the rule may be broken.
 *
 * The amountPaid rule is screened without grouping: every loan's amountPaid and every repayment's amount are weighted
 * by a 64-bit hash of the loan's id, seeded afresh at each call (`$1`), and the two sums compared. A loan whose
 * repayments do not add up to its amountPaid makes them differ unless the differences of several such loans cancel
 * out under this call's weights exactly: about one chance in 2^64, and never the same loans twice. Repayments of a
 * missing loan are left out of it, as the rule leaves them out (and as the inner join of a `joinsLoan` rule does).
 */
function screenSql(s: string): string {
  const counts = (over: 'loans' | 'repayments') =>
    RULES.filter((rule) => rule.screen?.over === over).map(({ code, screen }) => {
      const where = screen!.joinsLoan ? `l.id IS NOT NULL AND (${screen!.where})` : screen!.where;
      return `count(*) FILTER (WHERE ${where}) > 0 AS "${code}",`;
    });
  return `
    SELECT r.*, l.*, r.repaid <> l.paid AS "LOAN_AMOUNT_PAID_MISMATCH"
    FROM (SELECT ${counts('repayments').join(' ')}
                 coalesce(sum(${seededHash64Sql('l.id::text', '$1')}::numeric * r.amount), 0) AS repaid
          FROM ${s}.repayments r LEFT JOIN ${s}.loans l ON l.id = r."loanId") r,
         (SELECT ${counts('loans').join(' ')}
                 coalesce(sum(${seededHash64Sql('l.id::text', '$1')}::numeric * l."amountPaid"), 0) AS paid
          FROM ${s}.loans l) l`;
}

/** Rules the screen answers for: those with a `screen` condition, and the amountPaid rule's weighted sums. */
const SCREENED = new Set<InvariantCode>([
  'LOAN_AMOUNT_PAID_MISMATCH',
  ...RULES.filter((rule) => rule.screen).map((rule) => rule.code),
]);

const DEFAULT_EXAMPLES = 5;
const MAX_EXAMPLES = 100;

/**
 * Checks the microfinance rules that technical checks (checksums, counts, foreign keys) miss, over
 * the tables of `opts.schema` named as in the live database (`public`, a restore staging schema with
 * typed tables, or a drill's scratch database). Returns one warning per broken rule, in the order of
 * {@link INVARIANT_CODES}, each with its count and up to `opts.examples` (default 5, at most 100) ids;
 * an empty array when every rule holds. These are warnings: a file from a real system may carry such
 * oddities and the operator must see them, not be blocked by them.
 *
 * A screen first ({@link screenSql}: one pass over repayments and one over loans) tells which rules on those
 * tables may be broken; each of those, and every rule on the small tables, then runs its own query, one pass
 * over its tables (hash join or aggregate; the matching rows are materialized once for both the count and the
 * examples). Traps: the queries run one after another
 * on `client`, so for one consistent picture of a live database call it inside a REPEATABLE READ
 * transaction; a missing table is a PostgreSQL error (42P01), not a warning.
 */
export async function checkBusinessInvariants(
  client: pg.ClientBase,
  opts: { schema: string; examples?: number },
): Promise<InvariantWarning[]> {
  const limit = Math.min(MAX_EXAMPLES, Math.max(0, Math.floor(opts.examples ?? DEFAULT_EXAMPLES)));
  const schema = quoteIdent(opts.schema);
  const seed = randomBytes(8).readBigInt64BE().toString();
  const screen = (await client.query<Record<string, boolean>>(screenSql(schema), [seed])).rows[0]!;
  const warnings: InvariantWarning[] = [];
  for (const rule of RULES) {
    if (SCREENED.has(rule.code) && !screen[rule.code]) continue;
    const result = await client.query<{ count: string; examples: string[] }>(
      `WITH bad AS MATERIALIZED (${rule.sql(schema)})
       SELECT (SELECT count(*) FROM bad) AS count, ARRAY(SELECT id::text FROM bad ORDER BY id LIMIT $1) AS examples`,
      [limit],
    );
    const count = Number(result.rows[0]?.count ?? 0);
    if (count > 0) {
      warnings.push({
        code: rule.code,
        message: rule.message(count),
        table: rule.table,
        count,
        examples: result.rows[0]!.examples,
      });
    }
  }
  return warnings;
}
