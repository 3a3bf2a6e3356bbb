import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { FORMAT_VERSION, tablesFor, type BackupOptions, type BackupTableKey } from '../backup-format/tables.js';
import { isJsonColumn, quoteIdent, readColumns, readSchemaVersion } from '../backup-format/catalog.js';
import { exportJsonExpression } from '../backup-format/json-values.js';
import { reachFailpoint, type FailpointDeps } from '../failpoints.js';
import { checkBusinessInvariants, type InvariantWarning } from '../verify/business-invariants.js';
import { beginReadOnlySnapshot, holdTablesAgainstDrop } from '../sql/dialect.js';

export interface ExportProgress {
  table: BackupTableKey;
  /** Rows written so far, all tables together. */
  rows: number;
  totalRows: number;
  /** Rows per table in the snapshot, in export order: with `table` and `rows`, a progress bar per table. */
  counts: Partial<Record<BackupTableKey, number>>;
}

export interface ExportSummary {
  recordCounts: Partial<Record<BackupTableKey, number>>;
  schemaVersion: string | null;
  timestamp: string;
  /** The business invariants over the exported rows (same snapshot), when asked for; else absent. */
  warnings?: InvariantWarning[];
  /**
   * With `checks.afterStream`: settles once the invariants (when asked for) ran in the snapshot and it
   * was committed, which happens after the stream's last byte. The client stays busy until then.
   */
  settled?: Promise<void>;
}

// CSV with quote and delimiter bytes that JSON text can never contain: each row's JSON comes out
// exactly as PostgreSQL wrote it, one per line, with no escaping to undo.
const COPY_FORMAT = `WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
const NEWLINE = 0x0a;

/**
 * Numbers that JSON (and JavaScript) cannot carry exactly are exported as strings; json/jsonb values
 * are tagged where a JSON `null` would otherwise read as SQL NULL (format 1.1, `exportJsonExpression`).
 */
function selectExpression(column: { name: string; type: string }): string {
  const ident = quoteIdent(column.name);
  if (isJsonColumn(column)) return exportJsonExpression(column);
  return /^(numeric|bigint|money)/.test(column.type) ? `${ident}::text AS ${ident}` : ident;
}

function countNewlines(chunk: Buffer): number {
  let count = 0;
  for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) count++;
  return count;
}

/**
 * Streams the backup document (format {@link FORMAT_VERSION}) for `options` from `client`.
 *
 * Every table is read in one REPEATABLE READ, READ ONLY transaction, so the file is one consistent
 * snapshot: a loan is never present without its member. PostgreSQL builds each row's JSON
 * (`row_to_json`), so values round-trip byte for byte and nothing is decoded in JavaScript; a json
 * value that is JSON `null` is written tagged, apart from SQL NULL (docs/backup-format.md). One row
 * per line; memory stays flat whatever the table sizes.
 *
 * The client must be dedicated to this export until the generator finishes. If the generator does
 * not finish (error, or the consumer stops early) the connection may still be inside COPY: the
 * caller must release it with an error (`client.release(err)`), which closes it and so ends the
 * transaction. `summary` is filled before the first byte, except `warnings`: with
 * `checks.invariants` the business invariants run on the same snapshot once the last row is out,
 * before the stream ends, or, with `checks.afterStream`, after it: then `summary.settled` says when
 * they ran and the snapshot committed, and the client must not be released before it settles.
 * `options.schema` reads the tables from another schema than `public` (a restore point, for its
 * pre-restore file): they are locked first (ACCESS SHARE), so the point cannot be dropped half-read.
 */
export async function* exportSnapshot(
  client: pg.PoolClient,
  options: BackupOptions & { schema?: string },
  summary: ExportSummary,
  onProgress?: (progress: ExportProgress) => void,
  failpoints?: FailpointDeps,
  checks?: { invariants?: boolean; afterStream?: boolean },
): AsyncGenerator<Buffer> {
  const tables = tablesFor(options);
  const schema = options.schema ?? 'public';
  const from = (table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  await beginReadOnlySnapshot(client);
  if (schema !== 'public')
    await holdTablesAgainstDrop(
      client,
      tables.map((t) => from(t.table)),
    );
  summary.timestamp = new Date().toISOString();
  summary.schemaVersion = await readSchemaVersion(client);
  const counts = await client.query<Record<string, string>>(
    `SELECT ${tables.map((t) => `(SELECT count(*) FROM ${from(t.table)}) AS ${quoteIdent(t.key)}`).join(', ')}`,
  );
  for (const t of tables) summary.recordCounts[t.key] = Number(counts.rows[0]![t.key]);
  const totalRows = Object.values(summary.recordCounts).reduce((a, b) => a + (b ?? 0), 0);

  const metadata = {
    version: FORMAT_VERSION,
    timestamp: summary.timestamp,
    app: 'millennium-potters',
    schemaVersion: summary.schemaVersion,
    options: { includeAuditLogs: options.includeAuditLogs, includeSessions: options.includeSessions },
    recordCounts: summary.recordCounts,
  };
  yield Buffer.from(`{"metadata":${JSON.stringify(metadata)},\n"data":{\n`);

  let rowsDone = 0;
  for (const [index, t] of tables.entries()) {
    const columns = await readColumns(client, t.table, schema);
    const select = columns.map(selectExpression).join(', ');
    yield Buffer.from(`${JSON.stringify(t.key)}:[\n`);
    const copy = client.query(
      copyStreams.to(
        `COPY (SELECT ',' || row_to_json(r)::text FROM (SELECT ${select} FROM ${from(t.table)}) r) ` +
          `TO STDOUT ${COPY_FORMAT}`,
      ),
    );
    let first = true;
    let lastReport = 0;
    let tableRows = 0;
    for await (const chunk of copy as AsyncIterable<Buffer>) {
      // Every row starts with a separating comma; the table's first row must not.
      const out = first ? chunk.subarray(1) : chunk;
      first = false;
      const lines = countNewlines(chunk);
      rowsDone += lines;
      tableRows += lines;
      yield out;
      if (tableRows < (summary.recordCounts[t.key] ?? 0)) await reachFailpoint(failpoints, 'export.mid-table');
      const now = Date.now();
      if (onProgress && now - lastReport > 250) {
        lastReport = now;
        onProgress({ table: t.key, rows: rowsDone, totalRows, counts: summary.recordCounts });
      }
    }
    onProgress?.({ table: t.key, rows: rowsDone, totalRows, counts: summary.recordCounts });
    yield Buffer.from(index === tables.length - 1 ? ']\n' : '],\n');
  }
  yield Buffer.from('}}\n');
  // Still inside the snapshot: the warnings describe exactly the rows just written.
  const settle = async () => {
    if (checks?.invariants) summary.warnings = await checkBusinessInvariants(client, { schema });
    await client.query('COMMIT');
  };
  if (!checks?.afterStream) return await settle();
  // The stream ends now; PostgreSQL checks the invariants while the caller reads the file back.
  summary.settled = settle();
  summary.settled.catch(() => {});
}
