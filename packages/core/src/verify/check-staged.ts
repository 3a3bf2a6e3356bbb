import type pg from 'pg';
import { quoteIdent, readAppliedMigrations } from '../backup-format/catalog.js';
import { openCopy } from '../backups/open-copy.js';
import { NO_ENCRYPTION, openPlaintext } from '../crypto/plaintext.js';
import type { StoredCopy } from '../backups/copies.js';
import { isAppError } from '../errors.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import { isCompleteExport } from '../restore/build.js';
import { formatProblem, type Problem } from '../restore/problems.js';
import { stageFile } from '../restore/stage.js';
import { TableBuilds } from '../restore/table-builds.js';
import { checkBusinessInvariants, type InvariantWarning } from './business-invariants.js';
import type { CheckResult } from './report.js';
import { lockForSession, tryLockForSession, unlockForSession } from '../sql/dialect.js';

/** Verify's scratch schemas; never the restore's prefix, whose clean-up assumes the restore lock. */
export const VERIFY_SCHEMA_PREFIX = 'mp_verify_';

export type StagedCheckDeps = Pick<BackupRunDeps, 'pool' | 'storage' | 'logger' | 'encryption'>;

export interface StagedChecks {
  /**
   * `rows` (every row fits its live table: types, required fields, keys) then `references`; absent when not reached.
   */
  checks: CheckResult[];
  /** The business invariants over the staged rows; null when the rows could not be staged. */
  warnings: InvariantWarning[] | null;
}

/**
 * Loads one stored copy into a scratch schema with the restore's own stage and build code (the same
 * tables, keys and foreign keys a restore would swap in), then runs the business invariants on it,
 * and drops the schema. Nothing live is read or written but the catalog. `trustedBytes`: the copy's
 * checksum matched its record, so a file of ours at the current schema may take the restore's fast
 * typed path. Holds an advisory lock on the schema's name while it exists, so a scratch schema left
 * by a killed worker (nobody holds its lock) is dropped by the next verify.
 * Uses two pool connections.
 */
export async function checkStagedCopy(
  deps: StagedCheckDeps,
  copy: StoredCopy,
  opts: { backupId: string; trustedBytes: boolean; encrypted?: boolean },
): Promise<StagedChecks> {
  const schema = `${VERIFY_SCHEMA_PREFIX}${opts.backupId.replaceAll('-', '').slice(0, 16)}_${Date.now().toString(36)}`;
  const client = await deps.pool.connect();
  const builder = await deps.pool.connect();
  let failed: Error | undefined;
  try {
    await lockForSession(client, schema);
    await dropAbandonedSchemas(client, deps);
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    return await stageAndCheck(deps, client, builder, schema, copy, opts.trustedBytes, opts.encrypted === true);
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
    await unlockForSession(client, schema).catch(() => {});
    builder.release(failed);
    client.release(failed);
  }
}

async function stageAndCheck(
  deps: StagedCheckDeps,
  client: pg.PoolClient,
  builder: pg.PoolClient,
  schema: string,
  copy: StoredCopy,
  trustedBytes: boolean,
  encrypted: boolean,
): Promise<StagedChecks> {
  const applied = await readAppliedMigrations(client);
  const current = [...applied].sort().at(-1) ?? null;
  const builds = new TableBuilds(deps, [builder], schema, Date.now());
  const stored = await openCopy(deps.storage, copy);
  const stream = encrypted ? (await openPlaintext(stored, (deps.encryption ?? NO_ENCRYPTION).keyring)).stream : stored;
  try {
    await stageFile(client, stream, {
      schema,
      typed: (metadata) => trustedBytes && isCompleteExport(metadata, current),
      onTable: (key, rows, typed, taggedJson) => builds.add(key, rows, { typed, taggedJson }),
    });
    const built = await builds.settle();
    await builds.addRemainingForeignKeys(built);
  } catch (err) {
    stream.destroy();
    await builds.close();
    return { checks: failedChecks(err), warnings: null };
  }
  const warnings = await checkBusinessInvariants(client, { schema, examples: 5 });
  return {
    checks: [
      { name: 'rows', ok: true },
      { name: 'references', ok: true },
    ],
    warnings,
  };
}

/**
 * A staging failure as the check it belongs to: a row referring to nothing fails `references`, anything else `rows`.
 */
function failedChecks(err: unknown): CheckResult[] {
  if (!isAppError(err) || err.code !== 'INVALID_BACKUP_FILE') throw err;
  const problems = ((err.details as { problems?: Problem[] } | undefined)?.problems ?? []) as Problem[];
  const text = problems.map(formatProblem).join('; ') || err.message;
  if (problems.length > 0 && problems.every((p) => p.problem.startsWith('refers to '))) {
    return [
      { name: 'rows', ok: true },
      { name: 'references', ok: false, details: text },
    ];
  }
  return [{ name: 'rows', ok: false, details: text }];
}

/** Scratch schemas whose verify is gone (no session holds their lock), e.g. after a worker was killed. */
async function dropAbandonedSchemas(client: pg.PoolClient, deps: Pick<StagedCheckDeps, 'logger'>): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)`,
    [VERIFY_SCHEMA_PREFIX],
  );
  for (const { name } of rows) {
    if (!(await tryLockForSession(client, name))) continue;
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
      deps.logger.warn({ schema: name }, 'verify: dropped a scratch schema left by an interrupted verification');
    } finally {
      await unlockForSession(client, name);
    }
  }
}
