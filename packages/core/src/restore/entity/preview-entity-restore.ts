import type { JobProgress } from '../../job-progress.js';
import type { RestorePreview, TablePreview } from '../preview-types.js';
import type { RestoreSource } from '../source.js';
import { assertEntityTarget } from './input.js';
import { ENTITY_RESTORE_TABLES, planEntityRestore, type EntityPlan } from './plan.js';
import { dropStagedSource, stageSource, type EntityStageDeps } from './stage-source.js';

/**
 * What an entity restore of `entityType`/`entityId` from `source` would do, per table, touching no
 * live data: the file is staged into a private schema and planned exactly as `runEntityRestore`
 * plans it, then dropped. For each table the entity restore would touch: `rowsInFile` = rows of the
 * subtree (and missing parents) found in the file, `rowsLive` = how many of those keys are live,
 * `added` = rows it would insert, `removed` = 0 (it never deletes), `changed` = conflicts (same key,
 * other content: the live row would be kept), `sampleChangedKeys` = the first conflicting ids.
 * `brokenReferences` lists what would refuse the restore (a unique value taken by another live row).
 * `estimatedSeconds` is what this preview took: reading the file dominates both.
 * @throws AppError UNSUPPORTED_ENTITY_TYPE, VALIDATION_ERROR, ENTITY_NOT_IN_BACKUP, and the file's errors
 */
export async function previewEntityRestore(
  deps: EntityStageDeps,
  input: { source: RestoreSource; entityType: string; entityId: string; onProgress?: (p: JobProgress) => void },
): Promise<RestorePreview> {
  const started = Date.now();
  assertEntityTarget(input.entityType, input.entityId);
  const staged = await stageSource(deps, input.source, input.onProgress);
  let failed: Error | undefined;
  try {
    const plan = await planEntityRestore(staged.client, staged.schema, input.entityType, input.entityId);
    return {
      mode: 'entity',
      tables: tablePreviews(plan),
      addedByDependencies: [],
      brokenReferences: plan.problems.map((p) => `${p.table ? `${p.table}: ` : ''}${p.problem}`),
      estimatedSeconds: Math.max(1, Math.round((Date.now() - started) / 1000)),
    };
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    await dropStagedSource(staged, failed);
  }
}

function tablePreviews(plan: EntityPlan): TablePreview[] {
  const out: TablePreview[] = [];
  for (const key of ENTITY_RESTORE_TABLES) {
    const t = plan.tables[key];
    if (!t) continue;
    out.push({
      table: key,
      rowsInFile: t.selected,
      rowsLive: t.identical + t.conflicts,
      added: t.insert,
      removed: 0,
      changed: t.conflicts,
      sampleChangedKeys: plan.conflicts.filter((c) => c.table === key).map((c) => c.id),
    });
  }
  return out;
}
