import { createStatement, ID_SPACE } from './sql-kit.js';
import { officerOfUnionSql, unionOfMemberSql, type SeedContext } from './plan.js';
import { phoneSql } from './staff.js';
import { FIRST_NAMES, LAST_NAMES, STREETS } from './vocabulary.js';

const DAY = 86_400;

/**
 * Union members. Every union gets at least one member; the creator is the union's credit officer
 * (NULL for ~5 %: "creator deleted"). National ids are unique (a bijection of the ordinal) or NULL.
 */
export async function insertMembers(ctx: SeedContext): Promise<number> {
  const { counts } = ctx;
  const st = createStatement(ctx.seed);
  const anchor = st.param(ctx.anchor.toISOString(), 'timestamptz');
  const ascii = (list: ReadonlyArray<readonly [string, string]>): string =>
    st.param(
      list.map((n) => n[1]),
      'text[]',
    );
  const display = (list: ReadonlyArray<readonly [string, string]>): string =>
    st.param(
      list.map((n) => n[0]),
      'text[]',
    );
  const sql = `
    INSERT INTO union_members (id, "unionId", "firstName", "lastName", phone, email, address, "dateOfBirth",
      "nationalId",
                               "isVerified", "isActive", "createdById", "joinedAt", "createdAt", "updatedAt")
    SELECT ${st.uuid(ID_SPACE.members, 'm')}, ${st.uuid(ID_SPACE.unions, 'u')},
           (${display(FIRST_NAMES)})[fi], (${display(LAST_NAMES)})[li],
           ${phoneSql(st, 'm', 300, 10)},
           CASE WHEN ${st.chance('m', 310, 35)} THEN NULL
                ELSE (${ascii(FIRST_NAMES)})[fi] || '.' || (${ascii(LAST_NAMES)})[li] || m || '@'
                     || ${st.choose(['example.com', 'example.org', 'example.net'], 'm', 311)} END,
           CASE WHEN ${st.chance('m', 312, 20)} THEN NULL
                WHEN ${st.chance('m', 313, 3)} THEN 'Shop ' || (1 + ${st.pick('m', 314, 90)}) ||
                  E',\\nBehind the "old" market'
                ELSE (1 + ${st.pick('m', 315, 300)}) || ' ' || ${st.choose(STREETS, 'm', 316)} END,
           CASE WHEN ${st.chance('m', 317, 8)} THEN NULL ELSE date '1960-01-01'
             + ${st.pick('m', 318, 44 * 365)}::int END,
           -- 7654321013 is coprime with 10, so this is a bijection modulo 10^11: unique national ids.
           CASE WHEN ${st.chance('m', 319, 12)} THEN NULL
                ELSE lpad(((m::int8 * 7654321013 + ${(ctx.seed * 1_000_003) % 100_000_000_000}) %
                  100000000000)::text, 11, '0') END,
           ${st.chance('m', 320, 70)}, NOT ${st.chance('m', 321, 4)},
           CASE WHEN ${st.chance('m', 322, 5)} THEN NULL
             ELSE ${st.uuid(ID_SPACE.users, officerOfUnionSql(st, 'u', ctx.staff))} END,
           joined, joined, joined + ${st.micros('m', 323, 700 * DAY)}
    FROM (SELECT m, ${unionOfMemberSql(st, 'm', counts.unions)} AS u,
                 1 + ${st.pick('m', 301, FIRST_NAMES.length)} AS fi, 1 + ${st.pick('m', 302, LAST_NAMES.length)} AS li,
                 ${anchor} - interval '740 days' - ${st.micros('m', 303, 400 * DAY)} AS joined
          FROM generate_series(1, ${counts.union_members}) AS m OFFSET 0) AS g`;
  const result = await ctx.client.query(sql, st.values);
  return result.rowCount ?? 0;
}
