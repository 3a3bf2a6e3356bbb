import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, checkDependencies, ENTITY_TYPES } from '@mp/core';
import type { LoanStatus, PrismaClient } from '@mp/db';
import { createApiTestContext, createTestDatabase, createUserAndLogin, type TestDatabase } from '@mp/testing';
import { buildApp } from '../../services/api/src/app.js';

const NOW = new Date('2026-06-15T12:00:00Z');
let db: TestDatabase;
let prisma: PrismaClient;
const ids = {} as Record<
  | 'supervisor'
  | 'officer'
  | 'clerk'
  | 'busyUnion'
  | 'emptyUnion'
  | 'borrower'
  | 'closedBorrower'
  | 'idleMember'
  | 'usedType'
  | 'unusedType',
  string
>;

const check = (entityType: string, entityId: string) =>
  checkDependencies({ prisma, now: () => NOW }, { entityType, entityId });

async function addUser(
  name: string,
  role: 'ADMIN' | 'SUPERVISOR' | 'CREDIT_OFFICER',
  supervisorId?: string,
): Promise<string> {
  const user = await prisma.user.create({
    data: {
      username: name,
      email: `${name}@example.test`,
      passwordHash: 'x',
      firstName: name,
      lastName: 'T',
      role,
      supervisorId,
    },
  });
  return user.id;
}

let loanSeq = 0;
async function addLoan(unionMemberId: string, status: LoanStatus, repayments: number): Promise<void> {
  loanSeq += 1;
  const loan = await prisma.loan.create({
    data: {
      loanNumber: `LN-${loanSeq}`,
      unionMemberId,
      loanTypeId: ids.usedType,
      principal: '1000.00',
      interestRate: '0.1000',
      totalDue: '1100.00',
      status,
      termMonths: 6,
      createdById: ids.officer,
      approvedById: status === 'PENDING' ? null : ids.supervisor,
    },
  });
  for (let i = 0; i < repayments; i++) {
    await prisma.repayment.create({
      data: {
        loanId: loan.id,
        amount: '100.00',
        paidAt: NOW,
        method: 'CASH',
        reference: `R-${loanSeq}-${i}`,
        receivedById: ids.clerk,
      },
    });
  }
}

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  prisma = db.prisma;
  ids.supervisor = await addUser('supervisor', 'SUPERVISOR');
  ids.officer = await addUser('officer', 'CREDIT_OFFICER', ids.supervisor);
  ids.clerk = await addUser('clerk', 'ADMIN');
  ids.busyUnion = (
    await prisma.union.create({ data: { name: 'Busy', location: 'Lagos', creditOfficerId: ids.officer } })
  ).id;
  ids.emptyUnion = (
    await prisma.union.create({ data: { name: 'Empty', location: 'Ibadan', creditOfficerId: ids.officer } })
  ).id;
  const member = (firstName: string) =>
    prisma.unionMember
      .create({ data: { unionId: ids.busyUnion, firstName, lastName: 'M', createdById: ids.clerk } })
      .then((m) => m.id);
  ids.borrower = await member('Borrower');
  ids.closedBorrower = await member('Closed');
  ids.idleMember = await member('Idle');
  ids.usedType = (
    await prisma.loanType.create({
      data: { name: 'Standard', interestRate: '0.1000', minAmount: '100.00', maxAmount: '5000.00', durationMonths: 6 },
    })
  ).id;
  ids.unusedType = (
    await prisma.loanType.create({
      data: { name: 'Unused', interestRate: '0.1000', minAmount: '100.00', maxAmount: '5000.00', durationMonths: 6 },
    })
  ).id;
  await addLoan(ids.borrower, 'ACTIVE', 2);
  await addLoan(ids.borrower, 'PENDING', 0);
  await addLoan(ids.borrower, 'COMPLETED', 1);
  await addLoan(ids.closedBorrower, 'COMPLETED', 1);
  const hour = 3600 * 1000;
  await prisma.session.createMany({
    data: [
      { userId: ids.clerk, expiresAt: new Date(NOW.getTime() + hour) },
      { userId: ids.clerk, expiresAt: new Date(NOW.getTime() + 2 * hour) },
      { userId: ids.clerk, expiresAt: new Date(NOW.getTime() + hour), revokedAt: NOW },
      { userId: ids.clerk, expiresAt: new Date(NOW.getTime() - hour) },
    ],
  });
});

afterAll(async () => {
  await db?.drop();
});

describe('dependency checks', () => {
  it('counts what depends on a user and names what blocks its deletion', async () => {
    expect(await check('user', ids.officer)).toEqual({
      entityType: 'user',
      entityId: ids.officer,
      canDelete: false,
      dependencies: {
        unions: 2,
        supervisees: 0,
        loansCreated: 4,
        loansApproved: 0,
        repaymentsReceived: 0,
        unionMembersCreated: 0,
        activeSessions: 0,
      },
      message: 'Cannot delete: 2 unions and 4 loans created depend on this user',
    });
    const supervisor = await check('user', ids.supervisor);
    expect(supervisor.dependencies).toMatchObject({ supervisees: 1, loansApproved: 3 });
    expect(supervisor.message).toBe('Cannot delete: 1 supervisee and 3 loans approved depend on this user');

    const clerk = await check('user', ids.clerk);
    expect(clerk).toMatchObject({
      canDelete: true,
      dependencies: { repaymentsReceived: 4, unionMembersCreated: 3, activeSessions: 2 },
      message:
        'Can be deleted: nothing depends on this user; deleting it ends 2 active sessions and removes the user from ' +
        '4 repayments and 3 union members',
    });
  });

  it('counts members, loans and repayments of a union', async () => {
    expect(await check('union', ids.busyUnion)).toMatchObject({
      canDelete: false,
      dependencies: { unionMembers: 3, loans: 4, activeLoans: 2, repayments: 4 },
      message: 'Cannot delete: 2 active loans and 3 members depend on this union',
    });
    expect(await check('union', ids.emptyUnion)).toMatchObject({
      canDelete: true,
      dependencies: { unionMembers: 0, loans: 0, activeLoans: 0, repayments: 0 },
      message: 'Can be deleted: nothing depends on this union',
    });
  });

  it('counts loans of a union member and of a loan type', async () => {
    expect(await check('unionMember', ids.borrower)).toMatchObject({
      canDelete: false,
      dependencies: { loans: 3, activeLoans: 2, repayments: 3 },
      message: 'Cannot delete: 3 loans (2 active) depend on this union member',
    });
    expect((await check('unionMember', ids.closedBorrower)).message).toBe(
      'Cannot delete: 1 loan depends on this union member',
    );
    expect((await check('unionMember', ids.idleMember)).message).toBe(
      'Can be deleted: nothing depends on this union member',
    );
    expect(await check('loanType', ids.usedType)).toMatchObject({
      canDelete: false,
      dependencies: { loans: 4, activeLoans: 2 },
      message: 'Cannot delete: 4 loans (2 active) depend on this loan type',
    });
    expect(await check('loanType', ids.unusedType)).toMatchObject({
      canDelete: true,
      dependencies: { loans: 0, activeLoans: 0 },
    });
  });

  it('agrees with the database about what can be deleted', async () => {
    await expect(prisma.union.delete({ where: { id: ids.busyUnion } })).rejects.toThrow();
    await expect(prisma.loanType.delete({ where: { id: ids.usedType } })).rejects.toThrow();
    await expect(prisma.user.delete({ where: { id: ids.officer } })).rejects.toThrow();
    // "canDelete" entities really can be deleted (inside a transaction rolled back afterwards).
    const rollback = new Error('rollback');
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.user.delete({ where: { id: ids.clerk } });
        await tx.union.delete({ where: { id: ids.emptyUnion } });
        await tx.unionMember.delete({ where: { id: ids.idleMember } });
        await tx.loanType.delete({ where: { id: ids.unusedType } });
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await prisma.user.count({ where: { id: ids.clerk } })).toBe(1);
  });

  it('refuses unknown types, malformed ids and missing entities', async () => {
    const unsupported = (await check('loan', ids.borrower).catch((e: unknown) => e)) as AppError;
    expect(unsupported).toBeInstanceOf(AppError);
    expect(unsupported.code).toBe('UNSUPPORTED_ENTITY_TYPE');
    expect(unsupported.details).toEqual({ supported: ENTITY_TYPES });
    expect(unsupported.message).toContain('user, union, unionMember, loanType');
    expect(((await check('__proto__', ids.borrower).catch((e: unknown) => e)) as AppError).code).toBe(
      'UNSUPPORTED_ENTITY_TYPE',
    );

    for (const bad of ['not-a-uuid', '', `${ids.borrower}x`, "1' OR '1'='1"]) {
      expect(((await check('unionMember', bad).catch((e: unknown) => e)) as AppError).code).toBe('VALIDATION_ERROR');
    }
    const missing = (await check('union', randomUUID()).catch((e: unknown) => e)) as AppError;
    expect(missing.code).toBe('ENTITY_NOT_FOUND');
  });
});

describe('GET /api/backup/dependencies/:entityType/:entityId', () => {
  it('answers the report, and 400/404 for bad input', async () => {
    const ctx = await createApiTestContext({ logLevel: 'silent' });
    const app = await buildApp(ctx.deps);
    try {
      const admin = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
      const union = await ctx.deps.prisma.union.create({
        data: { name: 'U', location: 'Abuja', creditOfficerId: admin.user.id },
      });
      await ctx.deps.prisma.unionMember.create({ data: { unionId: union.id, firstName: 'A', lastName: 'B' } });
      const get = (path: string, headers = admin.headers) =>
        app.inject({ method: 'GET', url: `/api/backup/dependencies/${path}`, headers });

      const ok = await get(`union/${union.id}`);
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({
        success: true,
        data: {
          entityType: 'union',
          entityId: union.id,
          canDelete: false,
          dependencies: { unionMembers: 1, loans: 0, activeLoans: 0, repayments: 0 },
          message: 'Cannot delete: 1 member depends on this union',
        },
      });
      expect((await get(`user/${admin.user.id}`)).json().data).toMatchObject({
        canDelete: false,
        dependencies: { unions: 1, activeSessions: 1 },
      });

      const unsupported = await get(`loan/${union.id}`);
      expect(unsupported.statusCode).toBe(400);
      expect(unsupported.json().error).toMatchObject({
        code: 'UNSUPPORTED_ENTITY_TYPE',
        details: { supported: ['user', 'union', 'unionMember', 'loanType'] },
      });
      const badId = await get('loanType/123');
      expect(badId.statusCode).toBe(400);
      expect(badId.json().error.code).toBe('VALIDATION_ERROR');
      const missing = await get(`unionMember/${randomUUID()}`);
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('ENTITY_NOT_FOUND');

      expect((await get(`union/${union.id}`, {} as typeof admin.headers)).statusCode).toBe(401);
      const officer = await createUserAndLogin(app, ctx.deps.prisma, 'CREDIT_OFFICER');
      expect((await get(`union/${union.id}`, officer.headers)).statusCode).toBe(403);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
