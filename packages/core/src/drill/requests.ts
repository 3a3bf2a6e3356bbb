import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Prisma, type Operation, type PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import type { Producer } from '@mp/jobs';
import { AppError } from '../errors.js';
import { errorSummary } from '../error-summary.js';
import type { OperationAccepted } from '../operations/enqueue-operation.js';
import { enqueueWithin } from '../operations/enqueue-within.js';
import { inPageOrder, keysetPage } from '../pagination/keyset.js';

interface DrillRequestDeps {
  prisma: PrismaClient;
  producer: Producer;
  logger: Logger;
}

/**
 * Accepts a restore drill of stored backup `backupId`: inserts the `queued` drill Operation, then
 * enqueues `backup.drill` (jobId = operation id). A drill never touches live data, so it may run beside
 * anything; only a completed (or partial) backup with a file can be drilled.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE (the operation is then failed)
 */
export async function requestDrill(
  deps: DrillRequestDeps,
  input: { backupId: string; createdBy: string },
): Promise<OperationAccepted> {
  const backup = await deps.prisma.backupRecord.findUnique({ where: { id: input.backupId }, select: { status: true } });
  if (!backup) throw new AppError('BACKUP_NOT_FOUND', `Backup ${input.backupId} not found`);
  if (backup.status !== 'completed' && backup.status !== 'partial') {
    throw new AppError(
      'BACKUP_NOT_READY',
      `Backup ${input.backupId} is ${backup.status}; only a completed backup can be drilled`,
    );
  }
  const operationId = randomUUID();
  await deps.prisma.operation.create({
    data: {
      id: operationId,
      kind: 'drill',
      jobId: operationId,
      backupId: input.backupId,
      input: {},
      createdBy: input.createdBy,
    },
  });
  try {
    await enqueueWithin(deps.producer, 'backup.drill', { operationId }, operationId);
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), operationId, job: 'backup.drill' }, 'enqueue failed');
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: { status: 'failed', error: 'Job queue unavailable; the drill was not started', completedAt: new Date() },
    });
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, {
      cause: err,
    });
  }
  return { operationId, jobId: operationId };
}

/**
 * The drill operation of one run of the drill scheduler (BullMQ job `jobId`), on the newest completed
 * backup; created on the first attempt, found again on a retry. `null` when no backup can be drilled.
 */
export async function ensureScheduledDrill(
  deps: { prisma: PrismaClient },
  input: { jobId: string },
): Promise<Operation | null> {
  const existing = await deps.prisma.operation.findUnique({ where: { jobId: input.jobId } });
  if (existing) return existing;
  const newest = await deps.prisma.backupRecord.findFirst({
    where: { status: 'completed' },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    select: { id: true },
  });
  if (!newest) return null;
  try {
    return await deps.prisma.operation.create({
      data: {
        kind: 'drill',
        jobId: input.jobId,
        backupId: newest.id,
        input: { scheduled: true },
        createdBy: 'scheduler',
      },
    });
  } catch (err) {
    // Two attempts racing: the unique jobId decides, the loser takes the winner's row.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      const raced = await deps.prisma.operation.findUnique({ where: { jobId: input.jobId } });
      if (raced) return raced;
    }
    throw err;
  }
}

/** What a drill stored as its result (a failed DRILL_FAILED drill keeps it too); read leniently. */
const drillResultSchema = z
  .object({
    rtoSeconds: z.number().nullable().catch(null),
    rowsPerSecond: z.number().nullable().catch(null),
    ok: z.boolean().nullable().catch(null),
  })
  .partial()
  .catch({});

export interface DrillView {
  id: string;
  jobId: string | null;
  status: string;
  backupId: string | null;
  rtoSeconds: number | null;
  rowsPerSecond: number | null;
  ok: boolean | null;
  error: string | null;
  createdBy: string | null;
  createdAt: string;
  completedAt: string | null;
}

/**
 * Drill operations, newest first, keyset-paginated like the backup list (`nextCursor` is opaque).
 * `ok` is null until a drill compared its tables (queued, running, or failed before the comparison).
 * @throws AppError VALIDATION_ERROR for a cursor this did not hand out
 */
export async function listDrills(
  deps: { prisma: PrismaClient },
  input: { limit: number; cursor?: string },
): Promise<{ items: DrillView[]; nextCursor: string | null }> {
  const page = await keysetPage(deps.prisma, {
    table: 'operations',
    conditions: [Prisma.sql`kind = 'drill'::"OperationKind"`],
    ...input,
  });
  const rows = inPageOrder(page.ids, await deps.prisma.operation.findMany({ where: { id: { in: page.ids } } }));
  return { items: rows.map(toDrillView), nextCursor: page.nextCursor };
}

function toDrillView(op: Operation): DrillView {
  const r = drillResultSchema.parse(op.result ?? {});
  return {
    id: op.id,
    jobId: op.jobId,
    status: op.status,
    backupId: op.backupId,
    rtoSeconds: r.rtoSeconds ?? null,
    rowsPerSecond: r.rowsPerSecond ?? null,
    ok: r.ok ?? null,
    error: op.error,
    createdBy: op.createdBy,
    createdAt: op.createdAt.toISOString(),
    completedAt: op.completedAt?.toISOString() ?? null,
  };
}
