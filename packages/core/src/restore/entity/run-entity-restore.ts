import { z } from 'zod';
import { rm } from 'node:fs/promises';
import type pg from 'pg';
import { UnrecoverableError } from '@mp/jobs';
import { backupTableKeySchema, type BackupTableKey } from '../../backup-format/tables.js';
import { isGraphEntityType, type GraphEntityType } from '../../dependencies/graph.js';
import { AppError } from '../../errors.js';
import type { JobProgress } from '../../job-progress.js';
import { withExclusiveMaintenance } from '../exclusive.js';
import { publicTable } from '../keys.js';
import { formatProblem, MAX_PROBLEMS, type Problem } from '../problems.js';
import { tableByKey } from '../../backup-format/tables.js';
import { assertEntityTarget, entityRestoreInputSchema, type EntityRestoreInput } from './input.js';
import {
  ENTITY_RESTORE_TABLES,
  insertPlannedRows,
  planEntityRestore,
  entityConflictSchema,
  type EntityConflict,
  type EntityPlan,
} from './plan.js';
import { dropStagedSource, stageSource, type EntityStageDeps } from './stage-source.js';
import { blockWritersOf } from '../../sql/dialect.js';

export type EntityRestoreDeps = EntityStageDeps;

/** The job result of `backup.entity_restore` (stored on `Operation.result`). */
export interface EntityRestoreResult {
  entityType: GraphEntityType;
  entityId: string;
  backupId: string | null;
  /** Rows inserted per table (the entity, what hangs off it, and the parents it needed). */
  inserted: Partial<Record<BackupTableKey, number>>;
  /** Rows already live with the same content, per table: left as they are. */
  skippedIdentical: Partial<Record<BackupTableKey, number>>;
  /** Rows live under the same key with other content: the live row is kept. Total, and the first few. */
  conflictCount: number;
  conflicts: EntityConflict[];
  /** Parents that were missing live and came back with the entity (a union's credit officer, a loan's member …). */
  parentsRestored: { table: BackupTableKey; id: string }[];
  /** Nobody is logged out: only missing rows are inserted, no live account changes (README, "Entity restore"). */
  sessionsCleared: false;
  auditLogId: string;
  sha256: string;
  durationMs: number;
}

const tableCounts = z.partialRecord(backupTableKeySchema, z.number());

/** {@link EntityRestoreResult} as stored on `Operation.result` (JSON), for reading it back. */
export const entityRestoreResultSchema = z.object({
  entityType: z.custom<GraphEntityType>((v) => typeof v === 'string' && isGraphEntityType(v)),
  entityId: z.string(),
  backupId: z.string().nullable(),
  inserted: tableCounts,
  skippedIdentical: tableCounts,
  conflictCount: z.number(),
  conflicts: z.array(entityConflictSchema),
  parentsRestored: z.array(z.object({ table: backupTableKeySchema, id: z.string() })),
  sessionsCleared: z.literal(false),
  auditLogId: z.string(),
  sha256: z.string(),
  durationMs: z.number(),
}) satisfies z.ZodType<EntityRestoreResult>;

/** The names of the entity types in the audit trail, as the application writes them. */
const AUDIT_ENTITY_TYPE: Record<GraphEntityType, string> = {
  user: 'User',
  union: 'Union',
  unionMember: 'UnionMember',
  loanType: 'LoanType',
  loan: 'Loan',
};

function readInput(input: unknown): EntityRestoreInput {
  const parsed = entityRestoreInputSchema.safeParse(input);
  if (!parsed.success) throw new UnrecoverableError('The entity restore operation names no usable source or entity');
  return parsed.data;
}

/**
 * Brings back one entity and what hangs off it from a backup, where it is missing live
 * (operation `operationId`, kind `entity_restore`):
 * 1. The file is streamed into a private schema (`stageSource`), without maintenance mode and
 *    without the run lock: reading a big file blocks nobody.
 * 2. The plan (`planEntityRestore`): the entity, its subtree along the dependency graph, each row
 *    compared with the live one, the missing parents. A unique value held by another live row
 *    refuses the restore here, with readable problems.
 * 3. Under the run lock and maintenance mode, one transaction locks the data tables against writes,
 *    plans again on what is live now, inserts the rows marked `insert`, and writes an audit log
 *    entry (`ENTITY_RESTORED`, the entity and the counts, by the admin). Live rows are never
 *    updated or deleted; conflicts are reported in the result. Sessions stay.
 * Any failure leaves the live tables as they were; the private schema is always dropped.
 * @throws AppError ENTITY_NOT_IN_BACKUP, ENTITY_RESTORE_CONFLICT (details.problems), OPERATION_IN_PROGRESS, and the
 * file's errors
 */
export async function runEntityRestore(
  deps: EntityRestoreDeps,
  operationId: string,
  ctx: { jobId: string; onProgress?: (p: JobProgress) => void },
): Promise<EntityRestoreResult> {
  const started = Date.now();
  const progress = ctx.onProgress ?? (() => {});
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (!op) throw new UnrecoverableError(`Operation ${operationId} does not exist`);
  const input = readInput(op.input);
  try {
    assertEntityTarget(input.entityType, input.entityId);
    progress({ percent: 1, stage: 'validating' });
    const staged = await stageSource(deps, input.source, progress);
    let failed: Error | undefined;
    try {
      progress({ percent: 65, stage: 'validating', table: 'references' });
      assertConsistent(await planEntityRestore(staged.client, staged.schema, input.entityType, input.entityId));
      progress({ percent: 80, stage: 'replacing' });
      const written = await withExclusiveMaintenance(
        deps,
        { jobId: ctx.jobId, operationId, reason: 'entity-restore' },
        (client) => writeEntity(client, staged.schema, input, { operationId, backupId: op.backupId }),
      );
      progress({ percent: 100, stage: 'done' });
      deps.logger.info(
        { operationId, inserted: written.inserted, conflicts: written.plan.conflicts.length },
        'entity restore: done',
      );
      return {
        entityType: input.entityType,
        entityId: input.entityId,
        backupId: op.backupId,
        inserted: written.inserted,
        skippedIdentical: countsOf(written.plan, 'identical'),
        conflictCount: Object.values(written.plan.tables).reduce((n, t) => n + t.conflicts, 0),
        conflicts: written.plan.conflicts,
        parentsRestored: written.plan.parents,
        sessionsCleared: false,
        auditLogId: written.auditLogId,
        sha256: staged.file.sha256,
        durationMs: Date.now() - started,
      };
    } catch (err) {
      failed = err as Error;
      throw err;
    } finally {
      await dropStagedSource(staged, failed);
    }
  } finally {
    if (input.source.kind === 'file') await rm(input.source.path, { force: true });
  }
}

/** The one write: lock, plan again on what is live now, insert, audit; all or nothing. */
async function writeEntity(
  client: pg.PoolClient,
  schema: string,
  input: EntityRestoreInput,
  ids: { operationId: string; backupId: string | null },
): Promise<{ plan: EntityPlan; inserted: Partial<Record<BackupTableKey, number>>; auditLogId: string }> {
  await client.query('BEGIN');
  try {
    // Reads go on; writes to the data tables wait for this short transaction, so the plan stays true until COMMIT.
    await blockWritersOf(
      client,
      ENTITY_RESTORE_TABLES.map((k) => publicTable(tableByKey(k)!.table)),
    );
    const plan = await planEntityRestore(client, schema, input.entityType, input.entityId);
    assertConsistent(plan);
    const inserted = await insertPlannedRows(client, schema);
    const after = {
      operationId: ids.operationId,
      backupId: ids.backupId,
      inserted,
      skippedIdentical: countsOf(plan, 'identical'),
      conflicts: Object.values(plan.tables).reduce((n, t) => n + t.conflicts, 0),
      parentsRestored: plan.parents,
    };
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO public.audit_logs ("actorId", action, "entityType", "entityId", after) VALUES ($1, ` +
        `'ENTITY_RESTORED', $2, $3, $4) RETURNING id::text`,
      [input.actorId, AUDIT_ENTITY_TYPE[input.entityType], input.entityId, JSON.stringify(after)],
    );
    await client.query('COMMIT');
    return { plan, inserted, auditLogId: rows[0]!.id };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

function countsOf(plan: EntityPlan, state: 'identical' | 'insert'): Partial<Record<BackupTableKey, number>> {
  const out: Partial<Record<BackupTableKey, number>> = {};
  for (const [key, t] of Object.entries(plan.tables)) {
    const n = state === 'identical' ? t.identical : t.insert;
    if (n > 0) out[key as BackupTableKey] = n;
  }
  return out;
}

/**
 * Refuses a plan that cannot be inserted consistently.
 * @throws AppError ENTITY_RESTORE_CONFLICT, one line, with the list in `details.problems`
 */
function assertConsistent(plan: EntityPlan): void {
  if (plan.problems.length === 0) return;
  throw entityConflict(plan.problems);
}

export function entityConflict(problems: Problem[]): AppError {
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => ({ ...p, message: formatProblem(p) }));
  const count = problems.length === 1 ? '1 problem:' : `${problems.length} problems, first:`;
  return new AppError(
    'ENTITY_RESTORE_CONFLICT',
    `The entity cannot come back without overwriting live data; nothing was changed: ${count} ${shown[0]!.message}`,
    {
      problems: shown,
    },
  );
}
