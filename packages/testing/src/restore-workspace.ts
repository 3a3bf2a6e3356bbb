import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RestoreDeps } from '@mp/core';
import type { TestDatabase } from './db.js';
import { createLogger } from '@mp/logger';
import { createLocalStorage } from '@mp/storage';

/** A temporary folder with `backups/` and `uploads/`, and the in-process restore deps that use it. */
export interface RestoreWorkspace {
  dir: string;
  deps: RestoreDeps;
  /** Removes the folder (the database is the caller's). */
  remove: () => Promise<void>;
}

/**
 * What the in-process export/restore tests share: local storage only, a silent logger, gzip level 1 and
 * compression from 1 MiB (unless `options.settings` says otherwise), on database `db`. `prefix` names the
 * temporary folder.
 */
export async function createRestoreWorkspace(
  db: TestDatabase,
  prefix: string,
  options: { settings?: RestoreDeps['settings'] } = {},
): Promise<RestoreWorkspace> {
  const dir = await mkdtemp(path.join(tmpdir(), `mp-${prefix}-`));
  await mkdir(path.join(dir, 'uploads'), { recursive: true });
  const deps: RestoreDeps = {
    prisma: db.prisma,
    pool: db.pool,
    storage: { local: createLocalStorage({ dir: path.join(dir, 'backups') }), cloud: null },
    logger: createLogger({ level: 'silent' }),
    settings: options.settings ?? { gzipLevel: 1, compressThresholdBytes: 1024 * 1024 },
    uploadDir: path.join(dir, 'uploads'),
  };
  return { dir, deps, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Records the operation of a whole restore of stored backup `backupId` (as the API would), with no safety backup
 * and `allowNoAdmin` (no demo-data account can log in, by design, so the restore would otherwise be refused).
 * Returns its id, which is also its job id: run it with `runRestore(deps, id, { jobId: id })`.
 */
export async function recordStoredRestore(db: Pick<TestDatabase, 'prisma'>, backupId: string): Promise<string> {
  const id = randomUUID();
  await db.prisma.operation.create({
    data: {
      id,
      kind: 'restore',
      jobId: id,
      input: { source: { kind: 'backup', backupId }, skipSafetyBackup: true, allowNoAdmin: true },
    },
  });
  return id;
}
