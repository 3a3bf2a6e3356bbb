import { createStatement, ID_SPACE, type Statement } from './sql-kit.js';
import type { SeedContext } from './plan.js';
import { LOCATIONS, NOTES, TRADES, USER_AGENTS } from './vocabulary.js';

const DAY = 86_400;

/** [action, entityType, ID_SPACE key, count key]: CREATED rows have no `before`, DELETED rows no `after`. */
const EVENTS = [
  ['LOAN_CREATED', 'Loan', ID_SPACE.loans, 'loans'],
  ['LOAN_APPROVED', 'Loan', ID_SPACE.loans, 'loans'],
  ['LOAN_UPDATED', 'Loan', ID_SPACE.loans, 'loans'],
  ['REPAYMENT_RECORDED', 'Repayment', ID_SPACE.repayments, 'repayments'],
  ['MEMBER_UPDATED', 'UnionMember', ID_SPACE.members, 'union_members'],
  ['MEMBER_CREATED', 'UnionMember', ID_SPACE.members, 'union_members'],
  ['UNION_UPDATED', 'Union', ID_SPACE.unions, 'unions'],
  ['USER_UPDATED', 'User', ID_SPACE.users, 'users'],
  ['LOAN_TYPE_UPDATED', 'LoanType', ID_SPACE.loanTypes, 'loan_types'],
  ['UNION_DELETED', 'Union', ID_SPACE.unions, 'unions'],
] as const;

/**
 * An 11-key object for the audit trail: strings (unicode, quotes), numerics whose trailing zeros
 * jsonb keeps (10.250), an integer, a boolean, a JSON null, an array, a nested object and an
 * ISO timestamp with microseconds.
 */
function auditObjectSql(st: Statement, x: string, salt: number): string {
  // Built as text and parsed once: jsonb_build_object costs several times more per row.
  const json = (list: readonly string[], s: number): string =>
    st.choose(
      list.map((v) => JSON.stringify(v)),
      x,
      salt + s,
    );
  const parts = [
    `'{"status": ' || ${json(['PENDING', 'APPROVED', 'ACTIVE', 'COMPLETED', 'DEFAULTED'], 0)}`,
    `', "amount": ' || round((${st.pick(x, salt + 1, 10_000_000)} * 10)::numeric / 1000, 3)`,
    `', "interestRate": ' || round(${st.unit(x, salt + 2)}::numeric * 0.3, 4)`,
    `', "balance": ' || round(${st.pick(x, salt + 3, 1_000_000_000)}::numeric / 100, 2)`,
    `', "installments": ' || ${st.pick(x, salt + 4, 25)}`,
    `', "isVerified": ' || ${st.chance(x, salt + 5, 50)}`,
    `', "note": ' || CASE WHEN ${st.chance(x, salt + 6, 40)} THEN 'null' ELSE ${json(NOTES, 7)} END`,
    `', "tags": [' || ${json(TRADES, 8)} || ', "seeded"]'`,
    `', "meta": {"branch": ' || ${json(LOCATIONS, 9)} || ', "channel": ' || ${json(['web', 'mobile', 'ussd'], 10)} ` +
      `|| '}'`,
    `', "updatedAt": "' || to_char(created - ${st.micros(x, salt + 11, 90 * DAY)}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ` +
      `|| '"'`,
    `', "version": ' || (1 + ${st.pick(x, salt + 12, 9)}) || '}'`,
  ];
  return `(${parts.join(' || ')})::jsonb`;
}

/** The fields an update changed: `before` is the `after` object with these merged in. */
function auditChangesSql(st: Statement, x: string, salt: number): string {
  const parts = [
    `'{"status": ' || ${st.choose(['"PENDING"', '"APPROVED"', '"ACTIVE"'], x, salt)}`,
    `', "amount": ' || round((${st.pick(x, salt + 1, 10_000_000)} * 10)::numeric / 1000, 3)`,
    `', "balance": ' || round(${st.pick(x, salt + 3, 1_000_000_000)}::numeric / 100, 2)`,
    `', "updatedAt": "' || to_char(created - interval '90 days' - ${st.micros(x, salt + 11, 90 * DAY)}, ` +
      `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'`,
    `', "version": 0}'`,
  ];
  return `(${parts.join(' || ')})::jsonb`;
}

/**
 * Audit logs, inserted in time order (ids grow with createdAt, as in production; the sort runs on the
 * narrow inner rows, before the JSON is built). `after` holds the entity's 11-key state, `before` the same
 * state with five fields changed (NULL for *_CREATED, `after` NULL for *_DELETED). Actor ids are user
 * ids as text, ~5 % NULL (system) and ~2 % ids of users that no longer exist (the trail outlives its actors). Entity
 * ids point at real rows of the named type.
 */
export async function insertAuditLogs(ctx: SeedContext): Promise<number> {
  const { counts } = ctx;
  const st = createStatement(ctx.seed);
  const anchor = st.param(ctx.anchor.toISOString(), 'timestamptz');
  const actions = st.param(
    EVENTS.map((e) => e[0]),
    'text[]',
  );
  const types = st.param(
    EVENTS.map((e) => e[1]),
    'text[]',
  );
  const entityId = `CASE g.e ${EVENTS.map(
    ([, , space, table], i) => `WHEN ${i + 1} THEN ${st.uuid(space, `1 + ${st.pick('g.a', 703, counts[table])}`)}`,
  ).join(' ')} END`;
  const ip =
    `CASE WHEN ${st.chance('g.a', 704, 10)} THEN NULL
                   WHEN ${st.chance('g.a', 705, 10)} THEN '2c0f:f4c0:' || to_hex(${st.pick('g.a', 706, 65536)}) || ` +
    `'::' || to_hex(${st.pick('g.a', 707, 65536)})
                   ELSE ${st.choose(['197.210.', '105.112.', '41.58.', '154.160.'], 'g.a', 708)}
                        || ${st.pick('g.a', 709, 256)} || '.' || ${st.pick('g.a', 710, 256)} END`;
  const formerActor = st.uuid(ID_SPACE.formerUsers, `1 + ${st.pick('g.a', 713, 50)}`);
  const result = await ctx.client.query(
    `INSERT INTO audit_logs ("actorId", action, "entityType", "entityId", before, after, "ipAddress", "userAgent",
      "createdAt")
     SELECT CASE WHEN ${st.chance('g.a', 711, 5)} THEN NULL
                 WHEN ${st.chance('g.a', 712, 2)} THEN ${formerActor}
                 ELSE ${st.uuid(ID_SPACE.users, `1 + ${st.pick('g.a', 714, counts.users)}`)} END,
            g.action, (${types})[g.e], ${entityId},
            CASE WHEN g.action LIKE '%\\_CREATED' THEN NULL ELSE g.state || ${auditChangesSql(st, 'g.a', 740)} END,
            CASE WHEN g.action LIKE '%\\_DELETED' THEN NULL ELSE g.state END,
            ${ip},
            CASE WHEN ${st.chance('g.a', 715, 10)} THEN NULL ELSE ${st.choose(USER_AGENTS, 'g.a', 716)} END,
            g.created
     FROM (SELECT a, e, (${actions})[e] AS action, created, ${auditObjectSql(st, 'a', 720)} AS state
           FROM (SELECT a, 1 + ${st.pick('a', 701, EVENTS.length)} AS e, ${anchor}
             - ${st.micros('a', 702, 700 * DAY)} AS created
                 FROM generate_series(1, ${counts.audit_logs}) AS a ORDER BY created) AS sorted
           OFFSET 0) AS g`,
    st.values,
  );
  return result.rowCount ?? 0;
}

/**
 * Sessions of random users, created in the last 6 days of the real clock and expiring 7 days after
 * creation, so every one is still in the future; ~10 % are revoked. Not reproducible by seed (clock).
 */
export async function insertSessions(ctx: SeedContext): Promise<number> {
  const st = createStatement(ctx.seed);
  const sessionUser = st.uuid(ID_SPACE.users, `1 + ${st.pick('x', 801, ctx.counts.users)}`);
  const result = await ctx.client.query(
    `INSERT INTO sessions (id, "userId", "expiresAt", "ipAddress", "userAgent", "revokedAt", "createdAt")
     SELECT ${st.uuid(ID_SPACE.sessions, 'x')}, ${sessionUser},
            created + interval '7 days',
            CASE WHEN ${st.chance('x', 802, 10)} THEN NULL ELSE '197.210.' || ${st.pick('x', 803, 256)} || '.'
              || ${st.pick('x', 804, 256)} END,
            CASE WHEN ${st.chance('x', 805, 5)} THEN NULL ELSE ${st.choose(USER_AGENTS, 'x', 806)} END,
            CASE WHEN ${st.chance('x', 807, 10)} THEN created + (statement_timestamp() - created)
              * ${st.unit('x', 808)} END,
            created
     FROM (SELECT x, statement_timestamp() - ${st.micros('x', 809, 6 * DAY)} AS created
           FROM generate_series(1, ${ctx.counts.sessions}) AS x OFFSET 0) AS g`,
    st.values,
  );
  return result.rowCount ?? 0;
}
