// The demo-data seeder against a real PostgreSQL: a fresh copy of the migrated database per file.
// It empties and refills the eight domain tables; the backup service's own tables must survive untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgPool } from '@mp/db';
import { createTestDatabase, type TestDatabase } from '@mp/testing';
import { countsForScale, isDomainEmpty, seedDemoData, SeedError } from '../../packages/db/src/seed/index.js';

const ANCHOR = new Date('2026-01-15T00:00:00Z');
let db: TestDatabase;
let pool: PgPool;

/** Rows breaking a business rule, per rule; every value must be 0. */
const RULES: Record<string, string> = {
  unionOfficerIsActiveCreditOfficer: `SELECT count(*) FROM unions u JOIN users x ON x.id = u."creditOfficerId"
                                      WHERE x.role <> 'CREDIT_OFFICER' OR NOT x."isActive"`,
  creditOfficerHasSupervisor: `SELECT count(*) FROM users u LEFT JOIN users s ON s.id = u."supervisorId"
                               WHERE u.role = 'CREDIT_OFFICER' AND (s.id IS NULL OR s.role <> 'SUPERVISOR')`,
  principalWithinType: `SELECT count(*) FROM loans l JOIN loan_types t ON t.id = l."loanTypeId"
                        WHERE l.principal < t."minAmount" OR l.principal > t."maxAmount" OR t."minAmount" >=
                          t."maxAmount"`,
  totalDueIsPrincipalPlusInterest:
    `SELECT count(*) FROM loans WHERE "totalDue" <> round(principal * (1 + ` + `"interestRate"), 2)`,
  amountPaidWithinTotalDue: `SELECT count(*) FROM loans WHERE "amountPaid" > "totalDue" OR "amountPaid" < 0`,
  amountPaidIsSumOfRepayments: `SELECT count(*) FROM loans l LEFT JOIN (SELECT "loanId", sum(amount) AS s FROM
    repayments GROUP BY 1) r
                                ON r."loanId" = l.id WHERE l."amountPaid" <> coalesce(r.s, 0)`,
  completedLoansFullyPaid: `SELECT count(*) FROM loans WHERE status = 'COMPLETED' AND "amountPaid" <> "totalDue"`,
  loanDatesOrdered: `SELECT count(*) FROM loans WHERE "approvedAt" < "appliedAt" OR "disbursedAt" < "approvedAt"
                     OR (status = 'PENDING') <> ("approvedAt" IS NULL)
                     OR (status IN ('PENDING', 'APPROVED')) <> ("disbursedAt" IS NULL)`,
  repaymentsAfterDisbursement: `SELECT count(*) FROM repayments r JOIN loans l ON l.id = r."loanId"
                                WHERE l."disbursedAt" IS NULL OR r."paidAt" <= l."disbursedAt" OR r.amount <= 0`,
  sessionsExpireInFuture: `SELECT count(*) FROM sessions WHERE "expiresAt" <= now()`,
  seededUsersCannotLogIn: `SELECT count(*) FROM users WHERE "passwordHash" NOT LIKE 'scrypt$disabled$%'`,
  auditObjectsHaveTenKeys: `SELECT count(*) FROM audit_logs
                            WHERE (before IS NOT NULL AND (SELECT count(*) FROM jsonb_object_keys(before)) < 10)
                               OR (after IS NOT NULL AND (SELECT count(*) FROM jsonb_object_keys(after)) < 10)`,
};

async function scalar(sql: string): Promise<string> {
  const result = await pool.query<{ v: unknown }>(`SELECT (${sql}) AS v`);
  return String(result.rows[0]?.v);
}

async function contentHash(): Promise<string> {
  return scalar(`SELECT md5(string_agg(h, ',' ORDER BY h)) FROM (
    SELECT md5(l::text) AS h FROM loans l UNION ALL SELECT md5(r::text) FROM repayments r
    UNION ALL SELECT md5(m::text) FROM union_members m UNION ALL SELECT md5(a::text) FROM audit_logs a) x`);
}

async function schemaHash(): Promise<string> {
  return scalar(`SELECT md5(string_agg(d, ',' ORDER BY d)) FROM (
    SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index WHERE indrelid::regclass::text IN ('users', 'loans',
      'repayments', 'union_members')
    UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid::regclass::text
      IN ('users', 'loans', 'repayments', 'union_members')) x`);
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  expect(await isDomainEmpty(pool)).toBe(true);
  await pool.query(
    `INSERT INTO backup_records (id, filename, type, location) VALUES ('seed-test-keep', 'keep.json', 'manual', ` +
      `'local')`,
  );
});

afterAll(async () => {
  await db?.drop();
});

describe('countsForScale', () => {
  it('gives the small demo at scale 1 and the benchmark mix at scale 1000', () => {
    expect(countsForScale(1)).toEqual({
      users: 25,
      unions: 10,
      union_members: 300,
      loan_types: 4,
      loans: 150,
      repayments: 450,
      audit_logs: 500,
      sessions: 20,
    });
    expect(countsForScale(1000)).toEqual({
      users: 1000,
      unions: 2000,
      union_members: 100_000,
      loan_types: 20,
      loans: 300_000,
      repayments: 1_500_000,
      audit_logs: 500_000,
      sessions: 5000,
    });
    expect(countsForScale(0.01).users).toBeGreaterThanOrEqual(4);
    expect(() => countsForScale(0)).toThrow(RangeError);
  });
});

describe('seedDemoData', { timeout: 60_000 }, () => {
  it('fills every domain table of an empty database at scale 1, keeps the schema and the backup tables', async () => {
    const before = await schemaHash();
    const counts = await seedDemoData({ pool }, { scale: 1, anchor: ANCHOR });
    expect(counts).toEqual(countsForScale(1));
    expect(await scalar('SELECT count(*) FROM users')).toBe('25');
    expect(Number(await scalar('SELECT count(*) FROM repayments'))).toBeGreaterThanOrEqual(400);
    expect(Number(await scalar(`SELECT count(*) FROM users WHERE role = 'ADMIN'`))).toBeGreaterThanOrEqual(1);
    expect(Number(await scalar(`SELECT count(DISTINCT status) FROM loans`))).toBeGreaterThanOrEqual(4);
    expect(await isDomainEmpty(pool)).toBe(false);
    expect(await schemaHash()).toBe(before);
    expect(await scalar(`SELECT count(*) FROM backup_records WHERE id = 'seed-test-keep'`)).toBe('1');
  });

  it('follows the business rules', async () => {
    for (const [rule, sql] of Object.entries(RULES))
      expect({ rule, broken: await scalar(sql) }).toEqual({ rule, broken: '0' });
  });

  it('includes the edge values a backup must round-trip', async () => {
    expect(
      Number(
        await scalar(
          `SELECT count(*) FROM union_members WHERE "lastName" IN ('Ọlánrewájú', 'Ògúnbíyìí') OR ` +
            `"firstName" = ` +
            `'Adéwálé'`,
        ),
      ),
    ).toBeGreaterThan(0);
    expect(
      Number(
        await scalar(`SELECT count(*) FROM (SELECT notes FROM loans UNION ALL SELECT notes FROM repayments) n
                                WHERE notes LIKE E'%\\n%' OR notes LIKE E'%\\\\%' OR notes LIKE '%"%'`),
      ),
    ).toBeGreaterThan(0);
    expect(
      Number(await scalar(`SELECT count(*) FROM union_members WHERE phone IS NULL OR "nationalId" IS NULL`)),
    ).toBeGreaterThan(0);
    expect(
      Number(await scalar(`SELECT count(*) FROM loans WHERE extract(microseconds FROM "appliedAt")::int8 % 1000 <> 0`)),
    ).toBeGreaterThan(0);
    expect(
      Number(await scalar(`SELECT count(*) FROM audit_logs WHERE after->>'amount' ~ '\\.\\d\\d0$'`)),
    ).toBeGreaterThan(0);
  });

  it('refuses a database that already holds domain data', async () => {
    const err = await seedDemoData({ pool }, { scale: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeedError);
    expect((err as SeedError).code).toBe('SEED_DATABASE_NOT_EMPTY');
    expect(await scalar('SELECT count(*) FROM users')).toBe('25');
  });

  it('is deterministic for a seed and anchor, and differs across seeds', async () => {
    await seedDemoData({ pool }, { scale: 1, seed: 7, truncate: true, anchor: ANCHOR });
    const first = await contentHash();
    await seedDemoData({ pool }, { scale: 1, seed: 7, truncate: true, anchor: ANCHOR });
    expect(await contentHash()).toBe(first);
    await seedDemoData({ pool }, { scale: 1, seed: 8, truncate: true, anchor: ANCHOR });
    expect(await contentHash()).not.toBe(first);
  });

  it('rejects bad options before touching the database', async () => {
    await expect(seedDemoData({ pool }, { scale: 0, truncate: true })).rejects.toMatchObject({
      code: 'SEED_INVALID_OPTIONS',
    });
    await expect(seedDemoData({ pool }, { scale: 1, seed: 1.5, truncate: true })).rejects.toMatchObject({
      code: 'SEED_INVALID_OPTIONS',
    });
    expect(await isDomainEmpty(pool)).toBe(false);
  });
});
