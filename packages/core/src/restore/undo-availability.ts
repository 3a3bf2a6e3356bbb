import type { Operation, PgPool, Prisma, PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';
import { countWritesSince, listRestorePoints, type TableWrites } from './restore-point.js';

type Db = Pick<PrismaClient, 'operation'> | Prisma.TransactionClient;

/**
 * Why restore `operationId` cannot be undone now, or null when it can: it must be a completed
 * restore, not undone already, not followed by another restore or reset, with its restore point
 * still kept and its undo window open.
 * @throws AppError NOT_FOUND when no such operation exists
 */
export async function undoRefusal(
  db: Db,
  operationId: string,
  opts: { now?: Date; runningUndo?: string } = {},
): Promise<{ op: Operation; reason: string | null }> {
  const op = await db.operation.findUnique({ where: { id: operationId } });
  if (!op) throw new AppError('NOT_FOUND', `Operation ${operationId} does not exist`);
  return { op, reason: await reasonFor(db, op, opts.now ?? new Date(), opts.runningUndo) };
}

/** `runningUndo`: the undo asking (from its own job), which does not count against itself. */
async function reasonFor(db: Db, op: Operation, now: Date, runningUndo: string | undefined): Promise<string | null> {
  if (op.kind !== 'restore')
    return `Operation ${op.id} is not a restore (it is a ${op.kind} operation): only a restore can be undone`;
  if (op.status !== 'completed') return `The restore is ${op.status}: only a completed restore can be undone`;
  const undone = await db.operation.findFirst({
    where: {
      kind: 'undo',
      status: { in: ['queued', 'running', 'completed'] },
      input: { path: ['restoreOperationId'], equals: op.id },
      ...(runningUndo ? { id: { not: runningUndo } } : {}),
    },
    orderBy: { createdAt: 'desc' },
  });
  if (undone?.status === 'completed')
    return `This restore was already undone (at ${undone.completedAt?.toISOString()})`;
  if (undone) return `An undo of this restore is already ${undone.status} (job ${undone.jobId})`;
  const later = await db.operation.findFirst({
    where: {
      kind: { in: ['restore', 'reset'] },
      status: 'completed',
      completedAt: { gt: op.completedAt ?? op.createdAt },
      id: { not: op.id },
    },
    orderBy: { completedAt: 'asc' },
  });
  if (later)
    return (
      `A later ${later.kind} (${later.id}, completed ${later.completedAt?.toISOString()}) replaced the data ` +
      `since: only the latest restore can be undone`
    );
  if (!op.restorePoint || op.restorePointDroppedAt) {
    const at = op.restorePointDroppedAt ? ` at ${op.restorePointDroppedAt.toISOString()}` : '';
    return `The restore point was dropped${at}: there is nothing to swap back`;
  }
  if (!op.undoUntil || op.undoUntil <= now)
    return `The undo window closed${op.undoUntil ? ` at ${op.undoUntil.toISOString()}` : ''}`;
  return null;
}

/** The error an undo request gets when {@link undoRefusal} gives a reason. */
export function undoNotAvailable(operationId: string, reason: string): AppError {
  return new AppError(
    'UNDO_NOT_AVAILABLE',
    `Cannot undo restore ${operationId}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`,
    { operationId, reason },
  );
}

export interface UndoPreview {
  operationId: string;
  /** Whether POST …/undo would be accepted now; `reason` says why not. */
  available: boolean;
  reason: string | null;
  undoUntil: Date | null;
  restorePoint: { schema: string | null; bytes: number | null; droppedAt: Date | null };
  /** Per table, the rows written since the restore: an undo discards them. Empty when the point is gone. */
  tables: (TableWrites & { written: number })[];
  /** All tables together (inserted + updated + deleted). */
  written: number;
}

/**
 * What an undo of restore `operationId` would discard: per table, the rows inserted, updated and
 * deleted since the restore (exact, from the restore point's write log), with the window and the
 * restore point's size. Reads only.
 * @throws AppError NOT_FOUND
 */
export async function previewUndo(
  deps: { prisma: PrismaClient; pool: PgPool },
  operationId: string,
): Promise<UndoPreview> {
  const { op, reason } = await undoRefusal(deps.prisma, operationId);
  const exists = !!op.restorePoint && (await listRestorePoints(deps.pool)).some((p) => p.schema === op.restorePoint);
  const tables = exists
    ? (await countWritesSince(deps.pool, op.restorePoint!)).map((t) => ({
        ...t,
        written: t.inserted + t.updated + t.deleted,
      }))
    : [];
  return {
    operationId,
    available: reason === null,
    reason,
    undoUntil: op.undoUntil,
    restorePoint: {
      schema: op.restorePoint,
      bytes: op.restorePointBytes === null ? null : Number(op.restorePointBytes),
      droppedAt: op.restorePointDroppedAt,
    },
    tables,
    written: tables.reduce((a, t) => a + t.written, 0),
  };
}
