import { createStatement, ID_SPACE, type Statement } from './sql-kit.js';
import { inactiveOfficerSql, officerOfUnionSql, type SeedContext } from './plan.js';
import { FIRST_NAMES, LAST_NAMES, LOCATIONS, STREETS, TRADES } from './vocabulary.js';

const DAY = 86_400;

/** Nigerian or Ghanaian mobile number, or NULL for `nullPercent` % of rows. */
export function phoneSql(st: Statement, x: string, salt: number, nullPercent: number): string {
  const ng =
    `'+234' || ${st.choose(['70', '80', '81', '90', '91'], x, salt + 1)} || lpad(` +
    `${st.pick(x, salt + 2, 100_000_000)}::text, 8, '0')`;
  const gh =
    `'+233' || ${st.choose(['24', '54', '20', '50'], x, salt + 1)} || lpad(` +
    `${st.pick(x, salt + 2, 10_000_000)}::text, 7, '0')`;
  return (
    `CASE WHEN ${st.chance(x, salt, nullPercent)} THEN NULL WHEN ${st.chance(x, salt + 3, 20)} THEN ${gh} ELSE ` +
    `${ng} END`
  );
}

/**
 * Users: admins, supervisors, credit officers (each with a supervisor). Password hashes are
 * `scrypt$disabled$<hex>` placeholders no password matches, so no seeded account can log in.
 */
export async function insertUsers(ctx: SeedContext): Promise<number> {
  const { staff, counts, seed } = ctx;
  const st = createStatement(seed);
  const anchor = st.param(ctx.anchor.toISOString(), 'timestamptz');
  const role =
    `CASE WHEN i <= ${staff.admins} THEN 'ADMIN' WHEN i < ${staff.firstOfficer} THEN 'SUPERVISOR' ELSE ` +
    `'CREDIT_OFFICER' END`;
  const username = `(${st.param(
    FIRST_NAMES.map((n) => n[1]),
    'text[]',
  )})[fi] || '.' || (${st.param(
    LAST_NAMES.map((n) => n[1]),
    'text[]',
  )})[li] || i`;
  const sql = `
    INSERT INTO users (id, username, email, "passwordHash", "firstName", "lastName", phone, role, "isActive",
                       "mustChangePassword", "supervisorId", "lastLoginAt", "createdAt", "updatedAt")
    SELECT ${st.uuid(ID_SPACE.users, 'i')}, ${username}, ${username} || '@millennium-potters.example',
           'scrypt$disabled$' || md5(${seed} || ':user:' || i) || md5(${seed} || ':salt:' || i),
           (${st.param(
             FIRST_NAMES.map((n) => n[0]),
             'text[]',
           )})[fi], (${st.param(
             LAST_NAMES.map((n) => n[0]),
             'text[]',
           )})[li],
           ${phoneSql(st, 'i', 100, 10)}, (${role})::"Role",
           NOT ${inactiveOfficerSql('i', staff.firstOfficer)},
           ${st.chance('i', 110, 10)},
           CASE WHEN i >= ${staff.firstOfficer} THEN ${st.uuid(
             ID_SPACE.users,
             `${staff.admins + 1} + (i - ` + `${staff.firstOfficer}) % ${staff.supervisors}`,
           )} END,
           CASE WHEN ${st.chance('i', 111, 15)} THEN NULL ELSE ${anchor} - ${st.micros('i', 112, 30 * DAY)} END,
           created, created + ${st.micros('i', 113, 300 * DAY)}
    FROM (SELECT i, 1 + ${st.pick('i', 101, FIRST_NAMES.length)} AS fi, 1 + ${st.pick('i', 102, LAST_NAMES.length)}
      AS li,
                 ${anchor} - interval '400 days' - ${st.micros('i', 103, 600 * DAY)} AS created
          FROM generate_series(1, ${counts.users}) AS i OFFSET 0) AS g`;
  const result = await ctx.client.query(sql, st.values);
  return result.rowCount ?? 0;
}

/** Unions, each run by an active credit officer; names are unique by their ordinal suffix. */
export async function insertUnions(ctx: SeedContext): Promise<number> {
  const st = createStatement(ctx.seed);
  const anchor = st.param(ctx.anchor.toISOString(), 'timestamptz');
  const sql = `
    INSERT INTO unions (id, name, location, address, "creditOfficerId", "isActive", "createdAt", "updatedAt")
    SELECT ${st.uuid(ID_SPACE.unions, 'u')},
           split_part(loc, ',', 1) || ' ' || ${st.choose(TRADES, 'u', 201)} || ' Union ' || u,
           loc,
           CASE WHEN ${st.chance('u', 202, 15)} THEN NULL
                ELSE (1 + ${st.pick('u', 203, 250)}) || ' ' || ${st.choose(STREETS, 'u', 204)} || ', ' || loc END,
           ${st.uuid(ID_SPACE.users, officerOfUnionSql(st, 'u', ctx.staff))},
           NOT ${st.chance('u', 205, 5)},
           created, created + ${st.micros('u', 206, 200 * DAY)}
    FROM (SELECT u, ${st.choose(LOCATIONS, 'u', 207)} AS loc,
                 ${anchor} - interval '300 days' - ${st.micros('u', 208, 450 * DAY)} AS created
          FROM generate_series(1, ${ctx.counts.unions}) AS u OFFSET 0) AS g`;
  const result = await ctx.client.query(sql, st.values);
  return result.rowCount ?? 0;
}
