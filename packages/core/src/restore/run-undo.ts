import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';
import { quoteIdent } from '../backup-format/catalog.js';
import { BACKUP_TABLES } from '../backup-format/tables.js';
import type { JobProgress } from '../job-progress.js';
import { withExclusiveMaintenance } from './exclusive.js';
import { countWritesSince, restorePointTables, tableWritesSchema, type TableWrites } from './restore-point.js';
import { markDropped } from './restore-point-swap.js';
import type { RestoreDeps } from './run-restore.js';
import { swapIn } from './swap.js';
import { undoInputSchema } from './operation-inputs.js';
import { undoNotAvailable, undoRefusal } from './undo-availability.js';

export interface UndoResult {
  restoreOperationId: string;
  /** Rows per table now live again: the tables as they were before the restore. */
  restored: Record<string, number>;
  /** What the undo discarded: the rows written since the restore, per table. */
  discarded: TableWrites[];
  sessionsCleared: true;
  durationMs: number;
}

/** {@link UndoResult} as stored on `Operation.result` (JSON), for reading it back. */
export const undoResultSchema = z.object({
  restoreOperationId: z.string(),
  restored: z.record(z.string(), z.number()),
  discarded: z.array(tableWritesSchema),
  sessionsCleared: z.literal(true),
  durationMs: z.number(),
}) satisfies z.ZodType<UndoResult>;

/**
 * Takes back restore `input.restoreOperationId` (undo operation `operationId`), under maintenance
 * mode and the `LIVE_TABLES_LOCK`: checks again that it can be undone, then one transaction swaps the
 * restore point's tables back in for the live ones, deletes every session (everyone is logged out)
 * and drops the restore point with the tables it replaced. Either all of it commits or none.
 * @throws AppError UNDO_NOT_AVAILABLE when the restore can no longer be undone (nothing changed)
 */
export async function runUndo(
  deps: RestoreDeps,
  operationId: string,
  ctx: { jobId: string; onProgress?: (p: JobProgress) => void },
): Promise<UndoResult> {
  const started = Date.now();
  const undo = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (!undo) throw new UnrecoverableError(`Operation ${operationId} does not exist`);
  const parsed = undoInputSchema.safeParse(undo.input);
  if (!parsed.success) throw new UnrecoverableError('The undo operation names no restore');
  const { restoreOperationId } = parsed.data;
  const progress = ctx.onProgress ?? (() => {});
  return withExclusiveMaintenance(deps, { jobId: ctx.jobId, operationId, reason: 'undo' }, async (client) => {
    // Asked again under the lock: a restore may have landed, or the window closed, since the request.
    const { op, reason } = await undoRefusal(deps.prisma, restoreOperationId, { runningUndo: operationId });
    if (reason) throw undoNotAvailable(restoreOperationId, reason);
    const schema = op.restorePoint!;
    const tables = await restorePointTables(client, schema);
    if (tables.length === 0)
      throw undoNotAvailable(restoreOperationId, `the restore point ${schema} is missing from the database`);
    progress({ percent: 10, stage: 'validating' });
    const discarded = await countWritesSince(client, schema);
    progress({ percent: 50, stage: 'replacing' });
    await swapIn(
      client,
      schema,
      tables.map((table) => ({ table })),
      deps,
      { dropSource: true, failpoint: 'undo.swap' },
    );
    await markDropped(deps.prisma, schema);
    deps.logger.info(
      { restoreOperationId, restorePoint: schema, ms: Date.now() - started },
      'undo: restore point swapped back',
    );
    const counts = await client.query<Record<string, string>>(
      `SELECT ${tables.map((t) => `(SELECT count(*) FROM public.${quoteIdent(t)}) AS ${quoteIdent(t)}`).join(', ')}`,
    );
    progress({ percent: 100, stage: 'done' });
    return {
      restoreOperationId,
      restored: Object.fromEntries(
        tables.map((t) => [BACKUP_TABLES.find((b) => b.table === t)?.key ?? t, Number(counts.rows[0]![t])]),
      ),
      discarded,
      sessionsCleared: true,
      durationMs: Date.now() - started,
    };
  });
}
