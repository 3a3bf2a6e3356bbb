import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent, readAppliedMigrations } from '../../backup-format/catalog.js';
import type { BackupMetadata } from '../../backup-format/metadata.js';
import { isAppError } from '../../errors.js';
import type { BackupRunDeps } from '../../export/run-backup.js';
import type { JobProgress } from '../../job-progress.js';
import { checkStagedFile, isCompleteExport, type BuiltTable } from '../build.js';
import { checksumMismatch, hashSource, openSource, type RestoreSource, type SourceDeps } from '../source.js';
import { stageFile, type StagedFile } from '../stage.js';
import { TableBuilds } from '../table-builds.js';
import {
  buildIndexesSerially,
  lockForSession,
  resetIndexBuildParallelism,
  tryLockForSession,
  unlockForSession,
} from '../../sql/dialect.js';

export type EntityStageDeps = Pick<BackupRunDeps, 'prisma' | 'pool' | 'storage' | 'logger' | 'failpoints'> & SourceDeps;

/**
 * Private schemas of entity restores and previews. Not `mp_restore_`: the worker's crash recovery
 * drops those whenever no restore holds the run lock, and an entity restore reads its file without it.
 */
export const ENTITY_SCHEMA_PREFIX = 'mp_entity_';
/** Advisory lock space (first key) of the lock each private schema's connection holds while it is in use. */
const SCHEMA_LOCK_SPACE = 0x6d70_656e;
const BUILDERS = 2;

/** A backup file read into a private schema, with the connection that owns it. */
export interface StagedSource {
  schema: string;
  /** Holds the schema's lock; plan on it. Released (and the schema dropped) by {@link dropStagedSource}. */
  client: pg.PoolClient;
  file: StagedFile;
  built: BuiltTable[];
}

/**
 * Reads `source` into a new private schema (`mp_entity_<random>`), the same way a full restore
 * stages it (`stageFile`, then every table converted, keyed and indexed, and the references inside
 * the file checked): the file is streamed once, never held in memory, and then the subtree of an
 * entity is selected with SQL. Touches no live table. Call {@link dropStagedSource} afterwards, also
 * on failure of what follows; on a failure here the schema is already dropped.
 * Why a schema and not two passes over the JSON: the closure of an entity (its children, their
 * parents, their parents' parents) and its comparison with the live rows are joins, and the staged
 * tables come out typed exactly like the live ones, so "identical" is a comparison of row values.
 * @throws AppError INVALID_BACKUP_FILE, UNSUPPORTED_BACKUP_VERSION, CHECKSUM_MISMATCH, BACKUP_NOT_FOUND,
 * BACKUP_FILE_MISSING
 */
export async function stageSource(
  deps: EntityStageDeps,
  source: RestoreSource,
  onProgress: (p: JobProgress) => void = () => {},
): Promise<StagedSource> {
  const started = Date.now();
  const schema = `${ENTITY_SCHEMA_PREFIX}${randomBytes(8).toString('hex')}`;
  const client = await deps.pool.connect();
  let failed: Error | undefined;
  try {
    await lockForSession(client, [SCHEMA_LOCK_SPACE, schema]);
    await dropAbandonedSchemas(client);
    const opened = await openSource(deps, source);
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    const applied = await readAppliedMigrations(client);
    const currentSchema = [...applied].sort().at(-1) ?? null;
    const builders = await Promise.all(Array.from({ length: BUILDERS }, () => deps.pool.connect()));
    const builds = new TableBuilds(deps, builders, schema, started);
    let builderError: Error | undefined;
    try {
      for (const b of builders) await buildIndexesSerially(b);
      // The fast reading only for a stored backup of ours whose checksum is checked below.
      const typed = (m: BackupMetadata | undefined) =>
        opened.expectedSha256 !== null && isCompleteExport(m, currentSchema);
      const staged = await stageFile(client, opened.stream, {
        schema,
        typed,
        // `openSource` hashes the stored bytes (encrypted or not): the checksum is compared with those.
        hash: false,
        onBytes: (bytes) =>
          onProgress({
            percent: opened.size ? Math.min(60, Math.floor((bytes / opened.size) * 60)) : 0,
            stage: 'validating',
          }),
        onTable: (key, rows, isTyped, taggedJson) => builds.add(key, rows, { typed: isTyped, taggedJson }),
      }).catch(async (err: unknown) => {
        opened.stream.destroy();
        // A stored file that stops making sense part way is most likely damaged: say so when its checksum confirms it.
        if (opened.expectedSha256 && isAppError(err) && err.code === 'INVALID_BACKUP_FILE') {
          const actual = await hashSource(deps, source).catch(() => null);
          if (actual && actual !== opened.expectedSha256) throw checksumMismatch(opened.expectedSha256, actual);
        }
        throw err;
      });
      builds.fileRead();
      const file: StagedFile = { ...staged, sha256: opened.storedSha256() };
      if (opened.expectedSha256 && file.sha256 !== opened.expectedSha256)
        throw checksumMismatch(opened.expectedSha256, file.sha256);
      checkStagedFile(file, applied);
      const built = await builds.settle();
      deps.logger.info({ bytes: file.bytes, ms: Date.now() - started }, 'entity restore: file staged');
      return { schema, client, file, built };
    } catch (err) {
      builderError = err as Error;
      throw err;
    } finally {
      await builds.close();
      if (!builderError) for (const b of builders) await resetIndexBuildParallelism(b).catch(() => {});
      for (const b of builders) b.release(builderError);
    }
  } catch (err) {
    failed = err as Error;
    await client.query('ROLLBACK').catch(() => {});
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
    client.release(failed);
    throw err;
  }
}

/** Drops the private schema and gives its connection back (closed when `failed`: it may be mid-transaction). */
export async function dropStagedSource(staged: StagedSource, failed?: Error): Promise<void> {
  const { client, schema } = staged;
  if (failed) await client.query('ROLLBACK').catch(() => {});
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
  await unlockForSession(client, [SCHEMA_LOCK_SPACE, schema]).catch(() => {});
  client.release(failed);
}

/**
 * Drops the private schemas of entity restores or previews whose worker died (their lock died with
 * its connection): each one whose lock this connection can take is no longer in use.
 */
async function dropAbandonedSchemas(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)`,
    [ENTITY_SCHEMA_PREFIX],
  );
  for (const { name } of rows) {
    if (!(await tryLockForSession(client, [SCHEMA_LOCK_SPACE, name]))) continue;
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
    } finally {
      await unlockForSession(client, [SCHEMA_LOCK_SPACE, name]);
    }
  }
}
