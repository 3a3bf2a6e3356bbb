import type { PrismaClient, Role } from '@mp/db';
import { AppError } from '../errors.js';
import { hashPassword, verifyPassword } from './password.js';

/** A user as the API may show it: never the password hash. */
export interface PublicUser {
  id: string;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  role: Role;
  mustChangePassword: boolean;
  lastLoginAt: Date | null;
}

const publicUserSelect = {
  id: true,
  username: true,
  email: true,
  firstName: true,
  lastName: true,
  role: true,
  mustChangePassword: true,
  lastLoginAt: true,
} as const;

export interface LoginInput {
  username: string;
  password: string;
  ip?: string | null;
  userAgent?: string | null;
  /** Lifetime of the session; the API uses the same value as the JWT's `exp`. */
  ttlSeconds: number;
}

export interface LoginResult {
  sessionId: string;
  expiresAt: Date;
  user: PublicUser;
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks credentials and opens a session row (expiresAt = now + ttlSeconds); updates `lastLoginAt`.
 * The caller signs the token (core never handles JWTs).
 * Traps: an unknown username, a wrong password and an inactive user all give the same
 * INVALID_CREDENTIALS, and an unknown username still spends one scrypt so timing does not tell them apart.
 * @throws AppError INVALID_CREDENTIALS
 */
export async function login(
  deps: { prisma: PrismaClient; now?: () => Date },
  input: LoginInput,
): Promise<LoginResult> {
  const user = await deps.prisma.user.findUnique({
    where: { username: input.username },
    select: { ...publicUserSelect, passwordHash: true, isActive: true },
  });
  dummyHash ??= hashPassword('dummy password that matches nothing');
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyHash));
  if (!user || !ok || !user.isActive) throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');

  const now = deps.now?.() ?? new Date();
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
  const [session, updated] = await deps.prisma.$transaction([
    deps.prisma.session.create({
      data: { userId: user.id, expiresAt, ipAddress: input.ip ?? null, userAgent: input.userAgent?.slice(0, 500) ?? null },
      select: { id: true },
    }),
    deps.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: now }, select: publicUserSelect }),
  ]);
  return { sessionId: session.id, expiresAt, user: updated };
}

/** Ends a session at once (the row is deleted). Idempotent: an unknown id is not an error. */
export async function logout(deps: { prisma: PrismaClient }, input: { sessionId: string }): Promise<void> {
  await deps.prisma.session.deleteMany({ where: { id: input.sessionId } });
}

/**
 * Loads the live session behind a token: it must exist, not be revoked or expired, belong to `userId`,
 * and its user must be active. Called on every authenticated request so a deleted session stops at once.
 * @returns the user with the role read from the database (not the token), so role changes apply at once.
 * @throws AppError SESSION_EXPIRED
 */
export async function checkSession(
  deps: { prisma: PrismaClient; now?: () => Date },
  input: { sessionId: string; userId: string },
): Promise<PublicUser> {
  const session = await deps.prisma.session.findUnique({
    where: { id: input.sessionId },
    select: { userId: true, expiresAt: true, revokedAt: true, user: { select: { ...publicUserSelect, isActive: true } } },
  });
  const now = deps.now?.() ?? new Date();
  if (
    !session ||
    session.userId !== input.userId ||
    session.revokedAt !== null ||
    session.expiresAt.getTime() <= now.getTime() ||
    !session.user.isActive
  ) {
    throw new AppError('SESSION_EXPIRED', 'Session has ended; log in again');
  }
  const { isActive: _active, ...user } = session.user;
  return user;
}
