import { rm } from 'node:fs/promises';
import type pg from 'pg';
import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';
import { quoteIdent, readAppliedMigrations } from '../backup-format/catalog.js';
import type { BackupMetadata } from '../backup-format/metadata.js';
import type { JobProgress } from '../job-progress.js';
import { checkStagedFile, isCompleteExport, type BuiltTable } from './build.js';
import { publicTable, readConstraints } from './keys.js';
import type { RestorePreview, TablePreview } from './preview-types.js';
import { findBrokenReferences } from './reference-check.js';
import { stage, type RestoreDeps } from './run-restore.js';
import { changesUsers, keepSelectedOnly, resolveSelection, tableSelectionInputSchema } from './selection.js';
import { openSource, restoreSourceSchema } from './source.js';
import { staged } from './staged-sql.js';
import { dropStagingSchema } from './staging-tables.js';
import { TableBuilds } from './table-builds.js';
import { previewEntityRestore } from './entity/preview-entity-restore.js';
import { buildIndexesSerially, discardSession, resetIndexBuildParallelism } from '../sql/dialect.js';
import { releaseConnection } from '../operations/release-connection.js';

/** Preview staging schemas: never `mp_restore_…`, which a worker's start-up recovery drops. */
export const PREVIEW_SCHEMA_PREFIX = 'mp_preview_';
/** Changed keys quoted per table. */
const SAMPLE_KEYS = 5;
const BUILDERS = 2;

const previewInputSchema = tableSelectionInputSchema.extend({
  source: restoreSourceSchema,
  /** An entity restore's preview: what `POST /api/backup/restore/entity` would insert, skip and report. */
  entity: z.object({ entityType: z.string(), entityId: z.string() }).optional(),
});

/**
 * What restoring the file named by preview operation `operationId` (whole, or its `tables` with or
 * without their dependencies) would do, without touching live data and without maintenance mode:
 * the file is staged and built exactly as a restore does it (the same validation: an invalid file
 * fails the preview with the restore's problems), into its own schema `mp_preview_<id>`, then
 * compared with the live tables in SQL, by primary key and a hash of each row. The schema is always
 * dropped, on failure too; an uploaded file is deleted.
 */
export async function runRestorePreview(
  deps: RestoreDeps,
  operationId: string,
  ctx: { onProgress?: (p: JobProgress) => void } = {},
): Promise<RestorePreview> {
  const started = Date.now();
  const progress = ctx.onProgress ?? (() => {});
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (!op) throw new UnrecoverableError(`Operation ${operationId} does not exist`);
  const parsed = previewInputSchema.safeParse(op.input);
  if (!parsed.success) throw new UnrecoverableError('The preview operation names no usable source');
  const input = parsed.data;
  if (input.entity) {
    try {
      return await previewEntityRestore(deps, { source: input.source, ...input.entity, onProgress: progress });
    } finally {
      if (input.source.kind === 'file') await rm(input.source.path, { force: true });
    }
  }
  const schema = `${PREVIEW_SCHEMA_PREFIX}${operationId.replaceAll('-', '').slice(0, 16)}`;
  const client = await deps.pool.connect();
  const builders: pg.PoolClient[] = [];
  let builds: TableBuilds | undefined;
  let failed: Error | undefined;
  try {
    const opened = await openSource(deps, input.source);
    // A retried preview (its worker was killed) finds its previous schema: start from nothing.
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    const applied = await readAppliedMigrations(client);
    const currentSchema = [...applied].sort().at(-1) ?? null;
    for (let i = 0; i < BUILDERS; i++) builders.push(await deps.pool.connect());
    for (const b of builders) await buildIndexesSerially(b);
    builds = new TableBuilds(deps, builders, schema, started);
    const selection = await resolveSelection(client, input);

    progress({ percent: 1, stage: 'validating' });
    const typed = (metadata: BackupMetadata | undefined) =>
      opened.expectedSha256 !== null && isCompleteExport(metadata, currentSchema);
    const run = {
      deps,
      target: { pool: deps.pool, scratch: false },
      operationId,
      started,
      progress: (p: JobProgress) => progress({ ...p, percent: Math.min(p.percent, 80) }),
    };
    const file = await stage(run, client, { schema, source: input.source, opened, typed, builds, selection }).catch(
      (err: unknown) => {
        opened.stream.destroy();
        throw err;
      },
    );
    checkStagedFile(file, applied);
    if (selection) await keepSelectedOnly(client, schema, file.counts, selection);
    const built = await builds.settle();
    const stagedMs = Date.now() - started;

    progress({ percent: 85, stage: 'validating', table: 'comparing' });
    const tables: TablePreview[] = [];
    for (const t of built) tables.push(await compareTable(client, schema, t, file.counts.get(t.key) ?? t.rows));
    const broken = await findBrokenReferences(client, schema, built, { sessionsCleared: changesUsers(selection) });
    progress({ percent: 100, stage: 'done' });
    return {
      mode: selection ? 'selective' : 'full',
      tables,
      addedByDependencies: selection?.addedByDependencies ?? [],
      brokenReferences: broken.map((b) => b.message),
      estimatedSeconds: estimateSeconds(stagedMs),
    };
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    await builds?.close().catch(() => {});
    // Their pool has ended: nothing runs on them any more (see releaseConnection). Not awaited: the schema is dropped
    // at once. A failed stage sends nothing more (`StagingTables.abandon`): the staging connection goes back too.
    for (const b of builders) void releaseConnection(b, failed, resetIndexBuildParallelism);
    await dropStagingSchema(client, schema, failed).catch((err: unknown) => {
      deps.logger.error({ schema, err: (err as Error).message }, 'preview: could not drop its staging schema');
    });
    await releaseConnection(client, failed, failed ? discardSession : undefined);
    if (input.source.kind === 'file') await rm(input.source.path, { force: true });
  }
}

/**
 * A restore reads, converts and indexes the file exactly as the preview just did, then swaps in a
 * short transaction; the measured staging time, plus a tenth for the swap and its checks, is the estimate.
 */
function estimateSeconds(stagedMs: number): number {
  return Math.max(1, Math.ceil((stagedMs * 1.1) / 1000));
}

/** Rows added, removed and changed (by primary key, then by a hash of the whole row) between staged and live. */
async function compareTable(
  client: pg.PoolClient,
  schema: string,
  t: BuiltTable,
  rowsInFile: number,
): Promise<TablePreview> {
  const pk = (await readConstraints(client, [t.table])).find((c) => c.kind === 'p' && c.table === t.table);
  if (!pk) throw new Error(`Table ${t.table} has no primary key to compare rows by`);
  const key = `concat_ws(', ', ${pk.columns.map((c) => `t.${quoteIdent(c)}::text`).join(', ')})`;
  const side = (from: string) => `SELECT ${key} AS k, md5(t::text) AS h FROM ${from} t`;
  const { rows } = await client.query<{
    live: string;
    added: string;
    removed: string;
    changed: string;
    sample: string[] | null;
  }>(
    `WITH f AS MATERIALIZED (${side(staged(schema, t.table))}), l AS MATERIALIZED (${side(publicTable(t.table))}),
          j AS MATERIALIZED (SELECT f.k AS fk, l.k AS lk, f.h AS fh, l.h AS lh FROM f FULL JOIN l ON f.k = l.k)
     SELECT count(lk) AS live, count(*) FILTER (WHERE lk IS NULL) AS added, count(*) FILTER (WHERE fk IS NULL) AS
       removed,
            count(*) FILTER (WHERE fh <> lh) AS changed,
            (SELECT array_agg(k) FROM (SELECT fk AS k FROM j WHERE fh <> lh ORDER BY fk LIMIT ${SAMPLE_KEYS}) s) AS
              sample
       FROM j`,
  );
  const r = rows[0]!;
  return {
    table: t.key,
    rowsInFile,
    rowsLive: Number(r.live),
    added: Number(r.added),
    removed: Number(r.removed),
    changed: Number(r.changed),
    sampleChangedKeys: r.sample ?? [],
  };
}
