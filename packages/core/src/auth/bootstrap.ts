import type { PrismaClient } from '@mp/db';
import { generateStrongPassword, hashPassword, isUsablePasswordHash } from './password.js';
import { lockForPrismaTransaction } from '../sql/dialect.js';

/** Advisory lock key so two bootstraps started at once cannot both create an admin. */
const BOOTSTRAP_LOCK = 0x6d70_6164n;

export type BootstrapResult =
  | { created: false; existingAdmin: string }
  | { created: true; username: string; userId: string; generatedPassword: string | null };

/**
 * Creates the first ADMIN when no admin can log in. With `password` (already checked as strong by the
 * caller) it is used as given; without, a strong one is generated, returned ONCE in `generatedPassword`,
 * and the user must change it at first login. Nothing happens when an active ADMIN with a usable
 * password exists; demo-data admins (whose passwords are disabled placeholders) do not count.
 * Trap: the caller must show `generatedPassword` to the operator and never log it.
 * @throws Error when `username` is taken by a non-admin user
 */
export async function bootstrapAdmin(
  deps: { prisma: PrismaClient },
  input: { username: string; password?: string; email?: string },
): Promise<BootstrapResult> {
  const generated = input.password ? null : generateStrongPassword(24);
  const passwordHash = await hashPassword(input.password ?? (generated as string));
  return deps.prisma.$transaction(async (tx) => {
    await lockForPrismaTransaction(tx, BOOTSTRAP_LOCK);
    const admins = await tx.user.findMany({
      where: { role: 'ADMIN', isActive: true },
      select: { username: true, passwordHash: true },
      orderBy: { createdAt: 'asc' },
    });
    const admin = admins.find((a) => isUsablePasswordHash(a.passwordHash));
    if (admin) return { created: false, existingAdmin: admin.username };
    if (await tx.user.findUnique({ where: { username: input.username }, select: { id: true } })) {
      throw new Error(`A non-admin user named "${input.username}" already exists; choose another ADMIN_USERNAME`);
    }
    const user = await tx.user.create({
      data: {
        username: input.username,
        email: input.email ?? `${input.username}@localhost.invalid`,
        passwordHash,
        firstName: 'System',
        lastName: 'Administrator',
        role: 'ADMIN',
        mustChangePassword: generated !== null,
      },
      select: { id: true, username: true },
    });
    return { created: true, username: user.username, userId: user.id, generatedPassword: generated };
  });
}
