import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import { assertNotInMaintenance } from '../maintenance.js';
import { hashClaimToken, type ResetInput } from './claim-reset.js';
import { enqueueOperation, type OperationAccepted, type OperationDeps } from './enqueue-operation.js';
import { assertNoExclusiveOperation } from './exclusive-operations.js';
import { withOperationLock } from './operation-lock.js';

/**
 * Accepts a reset (wipe all data, then a fresh SuperAdmin). The token must be exactly `DELETE`;
 * the same one-at-a-time and maintenance rules as restore apply.
 * @throws AppError INVALID_CONFIRMATION_TOKEN, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, QUEUE_UNAVAILABLE
 */
export async function requestReset(
  deps: OperationDeps,
  input: { confirmationToken: string; createdBy: string },
): Promise<OperationAccepted & { claimToken: string }> {
  if (input.confirmationToken !== 'DELETE') {
    throw new AppError('INVALID_CONFIRMATION_TOKEN', 'confirmationToken must be exactly "DELETE"');
  }
  const operationId = randomUUID();
  // The reset deletes every account, the requester's too: this token is how they get the new
  // SuperAdmin password afterwards (see `claimResetPassword`). Only its hash is stored.
  const claimToken = randomBytes(32).toString('base64url');
  await withOperationLock(deps.prisma, async (tx) => {
    await assertNotInMaintenance(tx);
    await assertNoExclusiveOperation(tx);
    await tx.operation.create({
      data: {
        id: operationId,
        kind: 'reset',
        jobId: operationId,
        input: { claimTokenSha256: hashClaimToken(claimToken) } satisfies ResetInput,
        createdBy: input.createdBy,
      },
    });
  });
  await enqueueOperation(deps, 'backup.reset', operationId, null);
  return { operationId, jobId: operationId, claimToken };
}
