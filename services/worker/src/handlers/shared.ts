import type { BackupRunDeps, RestoreDeps } from '@mp/core';
import type { WorkerDeps } from '../deps.js';

/** What a backup run needs, from the worker's clients and config (the only place its settings are built). */
export function backupRunDeps(deps: WorkerDeps): BackupRunDeps {
  return {
    prisma: deps.prisma,
    pool: deps.pool,
    storage: deps.storage,
    logger: deps.logger,
    settings: {
      gzipLevel: deps.config.GZIP_LEVEL,
      zstdLevel: deps.config.ZSTD_LEVEL,
      compressThresholdBytes: deps.config.COMPRESS_THRESHOLD_BYTES,
    },
    failpoints: deps.config.FAILPOINTS,
    encryption: deps.encryption,
  };
}

/**
 * {@link backupRunDeps} plus what restores, previews, undos and drills read: the upload folder, the undo window,
 * the size from which a table is loaded over two COPY connections.
 */
export function restoreDeps(deps: WorkerDeps): RestoreDeps {
  return {
    ...backupRunDeps(deps),
    uploadDir: deps.config.UPLOAD_DIR,
    undoWindowHours: deps.config.UNDO_WINDOW_HOURS,
    splitCopyMinRows: deps.config.SPLIT_COPY_MIN_ROWS,
  };
}

/**
 * Retention runs after every successful backup. The job id is derived from the backup, so a
 * retried backup job never queues two prunes; a failed enqueue is logged, not fatal (the daily
 * prune catches up).
 */
export async function enqueuePruneAfter(deps: WorkerDeps, backupId: string): Promise<void> {
  try {
    await deps.producer.enqueue('backup.prune', {}, { jobId: `prune-after-${backupId}` });
  } catch (err) {
    deps.logger.warn({ backupId, err: (err as Error).message }, 'could not enqueue retention prune after backup');
  }
}
