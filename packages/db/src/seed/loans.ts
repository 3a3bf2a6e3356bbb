import { createStatement, ID_SPACE, scrambleHex } from './sql-kit.js';
import { officerOfUnionSql, unionOfMemberSql, type SeedContext } from './plan.js';
import { LOAN_PRODUCTS, NOTES } from './vocabulary.js';

const DAY = 86_400;
const PLAN = 'seed_loan_plan';

/** The installment of a plan row (`p`): COMPLETED loans are paid off by their last repayment. */
const INSTALLMENT = `CASE p.status WHEN 'COMPLETED' THEN trunc(p.total / p.n, 2)
                                   WHEN 'ACTIVE' THEN trunc(p.total / (greatest(p.term, p.n) + 1), 2)
                                   ELSE trunc(p.total / (2 * greatest(p.term, p.n) + 1), 2) END`;

/** Loan products from the catalog; beyond 20 types the catalog repeats with a numbered name. */
export async function insertLoanTypes(ctx: SeedContext): Promise<number> {
  const st = createStatement(ctx.seed);
  const anchor = st.param(ctx.anchor.toISOString(), 'timestamptz');
  const column = (index: number, cast: string): string =>
    st.param(
      LOAN_PRODUCTS.map((p) => p[index]),
      cast,
    );
  const sql = `
    INSERT INTO loan_types (id, name, description, "interestRate", "minAmount", "maxAmount", "durationMonths",
      "isActive",
                            "createdAt", "updatedAt")
    SELECT ${st.uuid(ID_SPACE.loanTypes, 't')},
           (${column(0, 'text[]')})[c] || CASE WHEN t > ${LOAN_PRODUCTS.length} THEN ' ' || t ELSE '' END,
           (${column(1, 'text[]')})[c], (${column(2, 'numeric[]')})[c], (${column(3, 'numeric[]')})[c],
           (${column(4, 'numeric[]')})[c], (${column(5, 'int[]')})[c],
           t % 10 <> 0,
           ${anchor} - interval '1200 days' + interval '1 day' * t,
           ${anchor} - interval '800 days' + ${st.micros('t', 401, 30 * DAY)}
    FROM (SELECT t, 1 + (t - 1) % ${LOAN_PRODUCTS.length} AS c FROM generate_series(1, ${ctx.counts.loan_types}) AS
      t) AS g`;
  const result = await ctx.client.query(sql, st.values);
  return result.rowCount ?? 0;
}

/**
 * Loans 1..L follow a fixed pattern of 20: positions 0–17 are disbursed, 18 is PENDING, 19 APPROVED.
 * Disbursed loan number k (0-based) gets repayments r ≡ k (mod D), so its repayment count is a formula
 * and amountPaid can be written with the loan instead of updated afterwards.
 */
export function disbursedLoans(loans: number): number {
  return Math.floor(loans / 20) * 18 + Math.min(loans % 20, 18);
}

/**
 * Builds the per-loan plan (temp table, dropped at commit) and inserts the loans from it.
 * Rules the rows satisfy: principal within the type's [min, max]; totalDue = round(principal·(1+rate), 2);
 * appliedAt < approvedAt < disbursedAt < every repayment < anchor; amountPaid = sum of the loan's
 * repayments (= totalDue for COMPLETED, less for the others); closedAt ≥ the last repayment.
 */
export async function insertLoans(ctx: SeedContext): Promise<number> {
  const { counts, staff } = ctx;
  const loans = counts.loans;
  const repayments = counts.repayments;
  const d = disbursedLoans(loans);
  const st = createStatement(ctx.seed);
  const anchor = st.param(ctx.anchor.toISOString(), 'timestamptz');
  const product = (index: number, cast: string): string =>
    `(${st.param(
      LOAN_PRODUCTS.map((p) => p[index]),
      cast,
    )})[c]`;
  const [rate, min, max, months] = [
    product(2, 'numeric[]'),
    product(3, 'numeric[]'),
    product(4, 'numeric[]'),
    product(5, 'int[]'),
  ];
  const officer = officerOfUnionSql(st, unionOfMemberSql(st, 's0.member', counts.unions), staff);

  await ctx.client.query(
    `CREATE TEMP TABLE ${PLAN} ON COMMIT DROP AS
     SELECT s2.*, ${st.uuid(ID_SPACE.loans, 'l')} AS id,
            round(principal * (1 + rate), 2) AS total,
            CASE WHEN disbursed IS NOT NULL THEN least(interval '30 days', (${anchor} - disbursed) / (n + 1)) END AS gap
     FROM (
       SELECT s1.l, s1.k, s1.member, s1.t, s1.creator, s1.approver, ${rate} AS rate, ${months} AS term,
              least(${max}, ${min} + floor(s1.u2 * (((${max} - ${min}) / 500)::float8 + 1))::numeric * 500 + CASE
                WHEN s1.cents THEN 0.50 ELSE 0 END) AS principal,
              CASE WHEN s1.pos = 18 THEN 'PENDING' WHEN s1.pos = 19 THEN 'APPROVED' WHEN s1.n = 0 THEN 'ACTIVE'
                   WHEN s1.u1 < 0.40 THEN 'COMPLETED' WHEN s1.u1 < 0.48 THEN 'DEFAULTED' WHEN s1.u1 < 0.51 THEN
                     'WRITTEN_OFF'
                   ELSE 'ACTIVE' END AS status,
              s1.n,
              ${anchor} - s1.off1 AS applied,
              CASE WHEN s1.pos <> 18 THEN ${anchor} - s1.off1 + s1.off2 END AS approved,
              CASE WHEN s1.pos < 18 THEN ${anchor} - s1.off1 + s1.off2 + s1.off3 END AS disbursed,
              s1.notes
       FROM (
         SELECT s0.l, s0.pos, s0.k, s0.member, s0.t, 1 + (s0.t - 1) % ${LOAN_PRODUCTS.length} AS c,
                CASE WHEN s0.k IS NULL OR s0.k >= ${repayments} THEN 0 ELSE (${repayments} - 1 - s0.k) / ${d} + 1
                  END AS n,
                ${st.unit('s0.l', 503)} AS u1, ${st.unit('s0.l', 504)} AS u2, ${st.chance('s0.l', 505, 5)} AS cents,
                CASE s0.pos WHEN 18 THEN ${st.micros('s0.l', 506, 14 * DAY)}
                            WHEN 19 THEN interval '8 days' + ${st.micros('s0.l', 506, 22 * DAY)}
                            ELSE interval '20 days' + ${st.micros('s0.l', 506, 700 * DAY)} END AS off1,
                interval '1 hour' + ${st.micros('s0.l', 507, 6 * DAY)} AS off2,
                ${st.micros('s0.l', 508, 3 * DAY)} AS off3,
                ${officer} AS creator,
                CASE WHEN s0.pos = 18 THEN NULL WHEN ${st.chance('s0.l', 509, 10)} THEN 1
                  + ${st.pick('s0.l', 510, staff.admins)}
                     ELSE ${staff.admins + 1} + ${st.pick('s0.l', 511, staff.supervisors)} END AS approver,
                CASE WHEN ${st.chance('s0.l', 512, 80)} THEN NULL ELSE ${st.choose(NOTES, 's0.l', 513)} END AS notes
         FROM (SELECT l, (l - 1) % 20 AS pos, CASE WHEN (l - 1) % 20 < 18 THEN ((l - 1) / 20) * 18 + (l - 1) % 20
           END AS k,
                      1 + ${st.pick('l', 501, counts.union_members)} AS member, 1
                        + ${st.pick('l', 502, counts.loan_types)} AS t
               FROM generate_series(1, ${loans}) AS l OFFSET 0) AS s0
         OFFSET 0) AS s1
       OFFSET 0) AS s2`,
    st.values,
  );
  await ctx.client.query(`ANALYZE ${PLAN}`);

  const ins = createStatement(ctx.seed);
  const result = await ctx.client.query(
    `INSERT INTO loans (id, "loanNumber", "unionMemberId", "loanTypeId", principal, "interestRate", "totalDue",
      "amountPaid",
                        status, "termMonths", "createdById", "approvedById", "appliedAt", "approvedAt", "disbursedAt",
                        "dueDate", "closedAt", notes, "createdAt", "updatedAt")
     SELECT id, 'MPL-' || to_char(applied, 'YYYY') || '-' || CASE WHEN l < 10000000 THEN lpad(l::text, 7, '0') ELSE
       l::text END,
            ${ins.uuid(ID_SPACE.members, 'member')}, ${ins.uuid(ID_SPACE.loanTypes, 't')},
            principal, rate, total, CASE p.status WHEN 'COMPLETED' THEN p.total ELSE p.n * (${INSTALLMENT}) END,
            status::"LoanStatus", term, ${ins.uuid(ID_SPACE.users, 'creator')},
            CASE WHEN approver IS NOT NULL THEN ${ins.uuid(ID_SPACE.users, 'approver')} END,
            applied, approved, disbursed, (disbursed + make_interval(months => term))::date, closed, notes,
            applied, greatest(applied, approved, disbursed, closed)
     FROM (SELECT *, CASE status WHEN 'COMPLETED' THEN disbursed + gap * n
                                 WHEN 'WRITTEN_OFF' THEN disbursed + gap * (n + 0.5) END AS closed
           FROM ${PLAN}) AS p`,
    ins.values,
  );
  return result.rowCount ?? 0;
}

/** Repayments of the disbursed loans in the plan; must run after `insertLoans` in the same transaction. */
export async function insertRepayments(ctx: SeedContext): Promise<number> {
  const d = disbursedLoans(ctx.counts.loans);
  const st = createStatement(ctx.seed);
  const paid = `p.disbursed + p.gap * (g.q + 0.5 + 0.5 * ${st.unit('g.r', 601)})`;
  const result = await ctx.client.query(
    `INSERT INTO repayments (id, "loanId", amount, "paidAt", method, reference, "receivedById", notes, "createdAt")
     SELECT ${st.uuid(ID_SPACE.repayments, 'g.r + 1')}, p.id,
            CASE WHEN p.status = 'COMPLETED' AND g.q = p.n - 1 THEN p.total - (p.n - 1) * (${INSTALLMENT})
              ELSE ${INSTALLMENT} END,
            ${paid},
            (CASE WHEN ${st.chance('g.r', 602, 40)} THEN 'CASH' WHEN ${st.chance('g.r', 603, 50)} THEN 'MOBILE_MONEY'
                  WHEN ${st.chance('g.r', 604, 85)} THEN 'BANK_TRANSFER' ELSE 'CHEQUE' END)::"RepaymentMethod",
            'RCP-' || upper(lpad(to_hex(${st.hash('g.r', 609)} & 65535), 4, '0')
              || ${scrambleHex('g.r', ctx.seed * 104729)}),
            CASE WHEN ${st.chance('g.r', 605, 7)} THEN NULL ELSE ${st.uuid(ID_SPACE.users, 'p.creator')} END,
            CASE WHEN ${st.chance('g.r', 606, 85)} THEN NULL ELSE ${st.choose(NOTES, 'g.r', 607)} END,
            ${paid} + ${st.micros('g.r', 608, 7200)}
     FROM (SELECT r, r % ${d} AS k, r / ${d} AS q FROM generate_series(0, ${ctx.counts.repayments - 1}) AS r) AS g
     JOIN ${PLAN} AS p ON p.k = g.k`,
    st.values,
  );
  return result.rowCount ?? 0;
}
