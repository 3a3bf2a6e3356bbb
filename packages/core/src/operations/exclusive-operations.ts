import type { Prisma } from '@mp/db';
import { AppError } from '../errors.js';

/** Operations that replace live tables under the `LIVE_TABLES_LOCK`: one at a time. */
export const EXCLUSIVE_KINDS = ['restore', 'reset', 'undo'] as const;

/** The error for a restore or reset that is queued or running. */
export function operationInProgress(running: {
  id: string;
  kind: string;
  status: string;
  jobId: string | null;
}): AppError {
  return new AppError(
    'OPERATION_IN_PROGRESS',
    `A ${running.kind} is already ${running.status}; wait for it to finish`,
    {
      operationId: running.id,
      jobId: running.jobId,
    },
  );
}

/**
 * Throws when a restore, reset or undo is queued or running. Call inside `withOperationLock`.
 * @throws AppError OPERATION_IN_PROGRESS
 */
export async function assertNoExclusiveOperation(tx: Prisma.TransactionClient): Promise<void> {
  const running = await tx.operation.findFirst({
    where: { kind: { in: [...EXCLUSIVE_KINDS] }, status: { in: ['queued', 'running'] } },
    select: { id: true, kind: true, status: true, jobId: true },
  });
  if (running) throw operationInProgress(running);
}
