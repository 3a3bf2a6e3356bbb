import type { CoreDeps } from '../deps.js';
import { AppError } from '../errors.js';
import { deleteCopies, withoutCopies } from '../backups/copies.js';
import type { RetentionRules } from './gfs.js';
import { loadProtections, planPrune, type PruneDeps, type PruneInput } from './plan.js';
import { reachFailpoint } from '../failpoints.js';

export interface PruneReport {
  retentionDays: number;
  rules: RetentionRules;
  cutoff: string;
  keptId: string | null;
  deleted: { id: string; filename: string }[];
  failed: { id: string; reason: string }[];
}

/**
 * Deletes the backups past retention (see `planPrune` for which): every stored copy first (local and
 * cloud, by the keys in `record.storage`; a copy already gone counts as deleted), then the record.
 *
 * A record whose copies cannot all be deleted is kept: the copies that were deleted are dropped from
 * its `storage`, the reason goes to its `error` field and to `failed`. The other records are still
 * processed, and then the function throws AppError `STORAGE_ERROR` (details: the report) so the job
 * is retried; a retry only meets what is left. Nothing is deleted when the plan is empty.
 * @returns which records were deleted, which failed, and the id of the newest completed backup kept.
 */
export async function pruneBackups(
  deps: PruneDeps & Pick<CoreDeps, 'storage' | 'logger' | 'failpoints'>,
  input: PruneInput = {},
): Promise<PruneReport> {
  const plan = await planPrune(deps, input);
  const report: PruneReport = {
    retentionDays: plan.retentionDays,
    rules: plan.rules,
    cutoff: plan.cutoff.toISOString(),
    keptId: plan.keptId,
    deleted: [],
    failed: [],
  };

  for (const record of plan.candidates) {
    // Pinned, or picked up by a reader, since the plan was made: it stays.
    if ((await loadProtections(deps, deps.now?.() ?? new Date())).has(record.id)) continue;
    const outcome = await deleteCopies(deps, record);
    if (outcome.error === null) {
      await reachFailpoint(deps, 'prune.mid-delete');
      // Re-check the status in the delete itself: a record picked up by another job meanwhile stays.
      await deps.prisma.backupRecord.deleteMany({
        where: { id: record.id, status: { in: ['completed', 'partial', 'failed'] }, pinned: false },
      });
      report.deleted.push({ id: record.id, filename: record.filename });
      continue;
    }
    const reason = `Prune could not delete this backup: ${outcome.error}`;
    await deps.prisma.backupRecord.update({
      where: { id: record.id },
      data: { error: reason, storage: withoutCopies(record.storage, outcome.removed) },
    });
    report.failed.push({ id: record.id, reason: outcome.error });
  }

  deps.logger.info(
    { deleted: report.deleted.length, failed: report.failed.length, keptId: report.keptId, cutoff: report.cutoff },
    'retention prune finished',
  );
  if (report.failed.length > 0) {
    throw new AppError(
      'STORAGE_ERROR',
      `Retention prune incomplete: ${report.failed.length} backup(s) could not be deleted (${report.deleted.length} ` +
        `deleted)`,
      report,
    );
  }
  return report;
}
