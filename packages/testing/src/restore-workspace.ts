import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/** What a recorded restore reads: a stored backup, or an upload of `bytes` written to `uploadDir` first. */
export type RecordedRestoreSource =
  | { backupId: string }
  | {
      bytes: string | Buffer;
      uploadDir: string;
      /** Of the upload's file name; default `.json`. */
      extension?: string;
    };

/**
 * Records the operation of a whole restore of `source` (as the API would) and returns its id, which is also its job
 * id: run it with `runRestore(deps, id, { jobId: id })`. No safety backup unless `skipSafetyBackup` is false.
 * `allowNoAdmin` (default true): no demo-data account can log in, by design, so a restore of demo data would
 * otherwise be refused; tests of refusals pass false, as the API does by default.
 */
export async function recordRestore(
  db: Pick<TestDatabase, 'prisma'>,
  source: RecordedRestoreSource,
  opts: { skipSafetyBackup?: boolean; allowNoAdmin?: boolean } = {},
): Promise<string> {
  const id = randomUUID();
  let from: { kind: 'backup'; backupId: string } | { kind: 'file'; path: string };
  if ('backupId' in source) from = { kind: 'backup', backupId: source.backupId };
  else {
    const file = path.join(source.uploadDir, `${id}${source.extension ?? '.json'}`);
    await writeFile(file, source.bytes);
    from = { kind: 'file', path: file };
  }
  const input = {
    source: from,
    skipSafetyBackup: opts.skipSafetyBackup ?? true,
    allowNoAdmin: opts.allowNoAdmin ?? true,
  };
  await db.prisma.operation.create({ data: { id, kind: 'restore', jobId: id, input } });
  return id;
}
