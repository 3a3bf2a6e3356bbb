import { isStrongPassword } from '@mp/config';
import type { PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';
import { hashPassword, verifyPassword } from './password.js';

/**
 * Changes a user's password: the current one must match, the new one must be strong and different.
 * Clears `mustChangePassword` and ends the user's other sessions (the current one stays valid).
 * @throws AppError INVALID_CREDENTIALS (wrong current password), VALIDATION_ERROR (weak or unchanged)
 */
export async function changePassword(
  deps: { prisma: PrismaClient },
  input: { userId: string; sessionId: string; currentPassword: string; newPassword: string },
): Promise<void> {
  const user = await deps.prisma.user.findUnique({ where: { id: input.userId }, select: { passwordHash: true } });
  if (!user || !(await verifyPassword(input.currentPassword, user.passwordHash))) {
    throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
  }
  if (!isStrongPassword(input.newPassword)) {
    throw new AppError(
      'VALIDATION_ERROR',
      'The new password is too weak: use 12+ characters with three of lower case, upper case, digits, symbols',
      {
        fields: [{ path: 'newPassword', message: 'too weak' }],
      },
    );
  }
  if (input.newPassword === input.currentPassword) {
    throw new AppError('VALIDATION_ERROR', 'The new password must differ from the current one', {
      fields: [{ path: 'newPassword', message: 'unchanged' }],
    });
  }
  const passwordHash = await hashPassword(input.newPassword);
  await deps.prisma.$transaction([
    deps.prisma.user.update({ where: { id: input.userId }, data: { passwordHash, mustChangePassword: false } }),
    deps.prisma.session.deleteMany({ where: { userId: input.userId, id: { not: input.sessionId } } }),
  ]);
}
