import { Prisma, type Operation, type PrismaClient } from '@mp/db';
import { inPageOrder, keysetPage } from '../pagination/keyset.js';
import { restoreFlagsOf, restoreSourceOf } from './operation-inputs.js';
import { undoRefusal } from './undo-availability.js';

/** A restore as the list of restores shows it: what it restored, and whether it can still be undone. */
export interface RestoreView {
  id: string;
  jobId: string | null;
  status: string;
  /** The stored backup it restored, or null for an uploaded file. */
  backupId: string | null;
  source: 'backup' | 'upload' | null;
  /** The tables a selective restore asked for; null for a whole restore. */
  tables: string[] | null;
  error: string | null;
  createdBy: string | null;
  createdAt: string;
  completedAt: string | null;
  restorePoint: { schema: string | null; bytes: number | null; droppedAt: string | null };
  undoUntil: string | null;
  /** Whether POST /api/backup/restore/:id/undo would be accepted now; `undoRefusal` says why not. */
  undoAvailable: boolean;
  undoRefusal: string | null;
}

/**
 * Restore operations (whole and selective), newest first, keyset-paginated like the backup list, each with
 * whether it can be undone now (the same rule as the undo itself, `undoRefusal`). Reads only.
 * @throws AppError VALIDATION_ERROR for a cursor this API did not hand out
 */
export async function listRestores(
  deps: { prisma: PrismaClient },
  input: { limit: number; cursor?: string },
  now = new Date(),
) {
  const page = await keysetPage(deps.prisma, {
    table: 'operations',
    conditions: [Prisma.sql`kind = 'restore'::"OperationKind"`],
    ...input,
  });
  const ops = inPageOrder(page.ids, await deps.prisma.operation.findMany({ where: { id: { in: page.ids } } }));
  const items: RestoreView[] = [];
  for (const op of ops) items.push(toRestoreView(op, (await undoRefusal(deps.prisma, op.id, { now })).reason));
  return { items, nextCursor: page.nextCursor };
}

function toRestoreView(op: Operation, refusal: string | null): RestoreView {
  const source = restoreSourceOf(op.input);
  return {
    id: op.id,
    jobId: op.jobId,
    status: op.status,
    backupId: op.backupId ?? (source?.kind === 'backup' ? source.backupId : null),
    source: source ? (source.kind === 'backup' ? 'backup' : 'upload') : null,
    tables: restoreFlagsOf(op.input).tables,
    error: op.error,
    createdBy: op.createdBy,
    createdAt: op.createdAt.toISOString(),
    completedAt: op.completedAt?.toISOString() ?? null,
    restorePoint: {
      schema: op.restorePoint,
      bytes: op.restorePointBytes === null ? null : Number(op.restorePointBytes),
      droppedAt: op.restorePointDroppedAt?.toISOString() ?? null,
    },
    undoUntil: op.undoUntil?.toISOString() ?? null,
    undoAvailable: refusal === null,
    undoRefusal: refusal,
  };
}
