import type { PgPool, PrismaClient, Role } from '@mp/db';
import { AppError } from '../errors.js';
import { hashPassword, needsRehash, verifyPassword } from './password.js';

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
 * INVALID_CREDENTIALS, and an unknown username still spends one hash so timing does not tell them apart.
 * A hash of an older format or lower cost (legacy scrypt) is replaced by a current Argon2id hash of the
 * password just checked, in the same transaction as the session (see `needsRehash`).
 * @throws AppError INVALID_CREDENTIALS
 */
export async function login(deps: { prisma: PrismaClient; now?: () => Date }, input: LoginInput): Promise<LoginResult> {
  const user = await deps.prisma.user.findUnique({
    where: { username: input.username },
    select: { ...publicUserSelect, passwordHash: true, isActive: true },
  });
  dummyHash ??= hashPassword('dummy password that matches nothing');
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyHash));
  if (!user || !ok || !user.isActive) throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');

  const now = deps.now?.() ?? new Date();
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
  const rehash = needsRehash(user.passwordHash)
    ? // Only over the hash just checked: a password changed meanwhile is never put back to this one.
      [
        deps.prisma.user.updateMany({
          where: { id: user.id, passwordHash: user.passwordHash },
          data: { passwordHash: await hashPassword(input.password) },
        }),
      ]
    : [];
  const [session, updated] = await deps.prisma.$transaction([
    deps.prisma.session.create({
      data: {
        userId: user.id,
        expiresAt,
        ipAddress: input.ip ?? null,
        userAgent: input.userAgent?.slice(0, 500) ?? null,
      },
      select: { id: true },
    }),
    deps.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: now }, select: publicUserSelect }),
    ...rehash,
  ]);
  return { sessionId: session.id, expiresAt, user: updated };
}

/** Ends a session at once (the row is deleted). Idempotent: an unknown id is not an error. */
export async function logout(deps: { prisma: PrismaClient }, input: { sessionId: string }): Promise<void> {
  await deps.prisma.session.deleteMany({ where: { id: input.sessionId } });
}

/**
 * The live-session check as one statement (session joined to its user): it runs on every authenticated
 * request, so it goes straight to node-pg as a named prepared statement. Prisma's nested `findUnique` costs
 * about 280 µs of CPU per call against about 50 µs here, which showed in the API's tail latency.
 */
const LIVE_SESSION_SQL = `
  SELECT u.id, u.username, u.email, u."firstName", u."lastName", u.role, u."mustChangePassword", u."lastLoginAt"
    FROM sessions s JOIN users u ON u.id = s."userId"
   WHERE s.id = $1 AND s."userId" = $2 AND s."revokedAt" IS NULL AND s."expiresAt" > $3 AND u."isActive"`;

/**
 * Loads the live session behind a token: it must exist, not be revoked or expired, belong to `userId`,
 * and its user must be active. Called on every authenticated request so a deleted session stops at once:
 * one round trip, never cached.
 * @returns the user with the role read from the database (not the token), so role changes apply at once.
 * @throws AppError SESSION_EXPIRED
 */
export async function checkSession(
  deps: { pool: PgPool; now?: () => Date },
  input: { sessionId: string; userId: string },
): Promise<PublicUser> {
  const now = deps.now?.() ?? new Date();
  const { rows } = await deps.pool.query<PublicUser>({
    name: 'mp-check-session',
    text: LIVE_SESSION_SQL,
    values: [input.sessionId, input.userId, now],
  });
  const user = rows[0];
  if (!user) throw new AppError('SESSION_EXPIRED', 'Session has ended; log in again');
  return user;
}
