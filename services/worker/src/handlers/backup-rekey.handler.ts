import type { Job } from 'bullmq';
import { rekeyBackups, rekeyInputSchema } from '@mp/core';
import { UnrecoverableError, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { trackOperation } from '../tracking.js';

/** `backup.rekey`: re-encrypts the backups of one old key to the current key, one at a time (`rekeyBackups`). */
export async function handleBackupRekey(job: Job<JobPayload<'backup.rekey'>>, deps: WorkerDeps) {
  const { operationId } = job.data;
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId }, select: { input: true } });
  const input = rekeyInputSchema.safeParse(op?.input);
  if (!input.success) throw new UnrecoverableError(`Rekey operation ${operationId} names no key to move from`);
  return trackOperation(deps, job, operationId, (onProgress) =>
    rekeyBackups(deps, { operationId, fromKeyId: input.data.fromKeyId }, onProgress),
  );
}
