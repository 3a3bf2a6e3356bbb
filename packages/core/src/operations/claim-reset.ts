import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';

/** How a reset's claim token is stored: SHA-256 hex, never the token itself. */
export const hashClaimToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A reset's stored `Operation.input`: the hash of the token that claims its generated password. */
export const resetInputSchema = z.object({ claimTokenSha256: z.string() });
export type ResetInput = z.output<typeof resetInputSchema>;

/**
 * Hands out, once, the SuperAdmin password a finished reset generated, to whoever holds the claim
 * token the reset request answered with. The password is removed from the stored result in the same
 * statement, so a second claim (or a stolen token used later) gets nothing.
 * @throws AppError INVALID_CREDENTIALS for an unknown job or a wrong token (indistinguishable);
 *   OPERATION_IN_PROGRESS while the reset still runs; NOT_FOUND when there is nothing (left) to claim
 */
export async function claimResetPassword(
  deps: { prisma: PrismaClient },
  input: { jobId: string; claimToken: string },
): Promise<{ username: string; password: string; mustChangePassword: true }> {
  const op = await deps.prisma.operation.findFirst({
    where: { kind: 'reset', OR: [{ id: input.jobId }, { jobId: input.jobId }] },
  });
  const expected = resetInputSchema.safeParse(op?.input).data?.claimTokenSha256;
  const given = Buffer.from(hashClaimToken(input.claimToken), 'hex');
  if (!op || !expected || !timingSafeEqual(Buffer.from(expected, 'hex'), given)) {
    throw new AppError('INVALID_CREDENTIALS', 'Unknown reset job or wrong claim token');
  }
  if (op.status !== 'completed')
    throw new AppError('OPERATION_IN_PROGRESS', `The reset is ${op.status}; claim the password once it completed`);
  const rows = await deps.prisma.$queryRaw<{ password: string | null; username: string | null }[]>`
    WITH old AS (SELECT result FROM operations WHERE id = ${op.id} FOR UPDATE)
    UPDATE operations o SET result = (o.result - 'generatedPassword') || '{"generatedPasswordShown": true}'::jsonb
      FROM old WHERE o.id = ${op.id} AND old.result ? 'generatedPassword'
    RETURNING old.result->>'generatedPassword' AS password, old.result->'superAdmin'->>'username' AS username`;
  const row = rows[0];
  if (!row?.password)
    throw new AppError(
      'NOT_FOUND',
      'No generated password to claim: it was claimed already, or the password came from configuration',
    );
  return { username: row.username ?? 'SuperAdmin', password: row.password, mustChangePassword: true };
}
