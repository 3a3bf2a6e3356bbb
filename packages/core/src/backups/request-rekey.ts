import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import { KEY_ID_PATTERN } from '../crypto/format.js';
import { AppError } from '../errors.js';
import { enqueueWithin } from '../operations/enqueue-within.js';

/** A rekey's stored `Operation.input`: the key whose backups move to the current key. */
export const rekeyInputSchema = z.object({ fromKeyId: z.string().min(1).max(32) });
export type RekeyInput = z.output<typeof rekeyInputSchema>;

/**
 * Queues a re-key of every backup encrypted with `fromKeyId` (job `backup.rekey`, see `rekeyBackups`):
 * writes the `rekey` Operation (input `{ fromKeyId }`), then enqueues with only its id. One re-key at a
 * time: a second while one is queued or running is refused.
 * @throws AppError VALIDATION_ERROR (a key id that cannot exist), OPERATION_IN_PROGRESS, QUEUE_UNAVAILABLE
 */
export async function requestRekey(
  deps: { prisma: Pick<PrismaClient, 'operation'>; producer: Producer },
  input: { fromKeyId: string; createdBy: string | null },
): Promise<{ operationId: string; jobId: string }> {
  if (!KEY_ID_PATTERN.test(input.fromKeyId)) {
    throw new AppError('VALIDATION_ERROR', 'A key id is 1 to 32 characters among A-Z a-z 0-9 . _ -');
  }
  const running = await deps.prisma.operation.findFirst({
    where: { kind: 'rekey', status: { in: ['queued', 'running'] } },
  });
  if (running)
    throw new AppError('OPERATION_IN_PROGRESS', `Re-key ${running.id} is already ${running.status}`, {
      operationId: running.id,
    });
  const id = randomUUID();
  await deps.prisma.operation.create({
    data: {
      id,
      kind: 'rekey',
      jobId: id,
      input: { fromKeyId: input.fromKeyId } satisfies RekeyInput,
      createdBy: input.createdBy,
    },
  });
  try {
    await enqueueWithin(deps.producer, 'backup.rekey', { operationId: id }, id);
  } catch (err) {
    await deps.prisma.operation.update({
      where: { id },
      data: { status: 'failed', error: 'Job queue unavailable; the re-key was not started', completedAt: new Date() },
    });
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, {
      cause: err,
    });
  }
  return { operationId: id, jobId: id };
}
