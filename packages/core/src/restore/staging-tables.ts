import type { Writable } from 'node:stream';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { tableByKey, type BackupTableKey } from '../backup-format/tables.js';
import { quoteIdent } from '../backup-format/catalog.js';
import type { CopyColumn } from '../backup-format/copy-text.js';
import { invalidBackup, type Problem } from './problems.js';
import { copyFrozenFromStdin, createUnloggedTable } from '../sql/dialect.js';

const COPY_FORMAT = `WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
const NEWLINE = Buffer.from('\n');

/** Name of the staging table that holds a table's raw rows (`__ord`, `doc` as JSON text). */
export function rawTable(schema: string, key: BackupTableKey): string {
  return `${quoteIdent(schema)}.${quoteIdent(`raw_${key}`)}`;
}

/** Name of the staged table that takes a table's typed rows (the live name, in the staging schema). */
export function typedTable(schema: string, key: BackupTableKey): string {
  return `${quoteIdent(schema)}.${quoteIdent(tableByKey(key)!.table)}`;
}

/**
 * Called when a table's rows are all in: `typed` when they went straight into {@link typedTable};
 * `taggedJson` when the file's json values are tagged (format 1.1, `tagsJsonValues`), which the
 * conversion of raw rows must undo.
 */
export type OnTableStaged = (key: BackupTableKey, rows: number, typed: boolean, taggedJson: boolean) => void;

/** Raw rows from the scanner as COPY lines (one JSON row per line). */
function rowLines(rows: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const row of rows) parts.push(row, NEWLINE);
  return Buffer.concat(parts);
}

/**
 * Writes the rows of each table of the file into its own staging table with one COPY, whatever
 * reader produced them: raw JSON rows into a {@link rawTable}, or, once {@link readTyped} is called,
 * typed COPY text into a {@link typedTable}. Tables this product does not have are skipped and
 * reported together by {@link finish}.
 */
export class StagingTables {
  /** Rows found per table, in file order. */
  readonly counts = new Map<BackupTableKey, number>();
  /** The table being copied, for errors that name it. */
  current: BackupTableKey | undefined;
  /** A typed table is being loaded in its own transaction (ROLLBACK it after a failure). */
  inTransaction = false;
  /** Live columns per table when the rows are typed (see {@link readTyped}). */
  private columns: Map<string, CopyColumn[]> | undefined;
  private copy: Writable | undefined;
  private skipping = false;
  private readonly unknown: Problem[] = [];

  constructor(
    private readonly client: pg.PoolClient,
    private readonly schema: string,
    private readonly onTable?: OnTableStaged,
  ) {}

  /** The rows go straight into typed tables (see {@link typedTable}). */
  get typed(): boolean {
    return this.columns !== undefined;
  }

  /** From now on the rows are COPY text in the order of these live `columns` (per table key). */
  readTyped(columns: Map<string, CopyColumn[]>): void {
    this.columns = columns;
  }

  /** Opens the COPY of table `key` (a name from the file: unknown ones are skipped). */
  async start(key: string): Promise<void> {
    const table = tableByKey(key);
    if (!table) {
      // The line reader only knows the tables of this product: unknown ones end in its error.
      this.unknown.push({ problem: `unknown table "data.${key}"` });
      this.skipping = true;
      return;
    }
    this.current = table.key;
    if (this.columns) {
      await this.startTyped(table.key, table.table, this.columns.get(table.key)!);
      return;
    }
    const name = rawTable(this.schema, table.key);
    // Unlogged: the raw rows are scratch; only the converted tables are swapped in. Text, not jsonb:
    // the JSON is parsed once, by the connection that converts the table, so the parsing of one
    // table overlaps with the reading of the next.
    await createUnloggedTable(
      this.client,
      name,
      '__ord bigint GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START 0), doc text NOT NULL',
    );
    this.copy = this.client.query(copyStreams.from(`COPY ${name} (doc) FROM STDIN ${COPY_FORMAT}`));
    this.copy.on('error', () => {}); // surfaced by write/endCopy; avoids an unhandled 'error' event
  }

  /** Raw JSON rows of the current table, one per COPY line. */
  async writeRows(rows: Buffer[]): Promise<void> {
    if (!this.skipping) await this.toCopy(rowLines(rows));
  }

  /** Typed COPY text of the current table. */
  async writeText(data: Buffer): Promise<void> {
    if (!this.skipping) await this.toCopy(data);
  }

  /** Ends the current table's COPY (and its transaction), then reports it staged. */
  async end(count: number, taggedJson: boolean): Promise<void> {
    if (!this.skipping) {
      this.counts.set(this.current!, count);
      await this.endCopy();
      if (this.inTransaction) {
        await this.client.query('COMMIT');
        this.inTransaction = false;
      }
      this.onTable?.(this.current!, count, this.typed, taggedJson);
    }
    this.skipping = false;
  }

  /**
   * The file is read: refuses it if it held unknown tables.
   * @throws AppError INVALID_BACKUP_FILE naming every unknown table
   */
  finish(): void {
    if (this.unknown.length > 0) throw invalidBackup(this.unknown);
  }

  /** Abandons a COPY in progress (the read failed). */
  destroy(): void {
    this.copy?.destroy();
  }

  /**
   * A table shaped like the live one, created in the transaction that loads it, so COPY can write
   * its rows frozen: no hint bits to set and nothing for autovacuum to do once it is swapped in.
   * No keys or indexes yet: they are built afterwards, on another connection.
   */
  private async startTyped(key: BackupTableKey, table: string, columns: CopyColumn[]): Promise<void> {
    const name = typedTable(this.schema, key);
    await this.client.query('BEGIN');
    this.inTransaction = true;
    await this.client.query(
      `CREATE TABLE ${name} (LIKE public.${quoteIdent(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING ` +
        `GENERATED)`,
    );
    const list = columns.map((c) => quoteIdent(c.name)).join(', ');
    this.copy = this.client.query(copyStreams.from(copyFrozenFromStdin(name, list)));
    this.copy.on('error', () => {}); // surfaced by write/endCopy; avoids an unhandled 'error' event
  }

  private async toCopy(data: Buffer): Promise<void> {
    const copy = this.copy!;
    if (!copy.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => {
          copy.off('drain', onDrain);
          reject(err);
        };
        const onDrain = () => {
          copy.off('error', onError);
          resolve();
        };
        copy.once('drain', onDrain);
        copy.once('error', onError);
      });
    }
  }

  private async endCopy(): Promise<void> {
    const copy = this.copy!;
    this.copy = undefined;
    await new Promise<void>((resolve, reject) => {
      copy.once('finish', resolve);
      copy.once('error', reject);
      copy.end();
    });
  }
}
