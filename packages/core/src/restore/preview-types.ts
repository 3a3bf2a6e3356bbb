import { z } from 'zod';

/**
 * What a restore would do, table by table, computed without touching live data: the answer of the
 * `backup.preview` operation for a whole, selective or entity restore (stored on `Operation.result`).
 */
export interface TablePreview {
  /** Backup table key, e.g. `loans`. */
  table: string;
  rowsInFile: number;
  rowsLive: number;
  /** Keys in the file and not live. */
  added: number;
  /** Keys live and not in the file (a whole or selective restore removes them; an entity restore never does: 0). */
  removed: number;
  /**
   * Keys on both sides whose row hash differs (an entity restore reports these as conflicts and keeps the live row).
   */
  changed: number;
  /** The first few changed (or conflicting) primary keys, for the operator to look at. */
  sampleChangedKeys: string[];
}

export interface RestorePreview {
  mode: 'full' | 'selective' | 'entity';
  tables: TablePreview[];
  /** Tables a selective restore with `withDependencies` adds to those asked for. */
  addedByDependencies: string[];
  /** References that would break, in words a person can act on (empty when none). */
  brokenReferences: string[];
  /** Rough time the restore would take, from the file's size and this server's measured rates. */
  estimatedSeconds: number;
}

const tablePreviewSchema = z.object({
  table: z.string(),
  rowsInFile: z.number(),
  rowsLive: z.number(),
  added: z.number(),
  removed: z.number(),
  changed: z.number(),
  sampleChangedKeys: z.array(z.string()),
}) satisfies z.ZodType<TablePreview>;

/** {@link RestorePreview} as stored on the preview operation's `Operation.result` (JSON), for reading it back. */
export const restorePreviewSchema = z.object({
  mode: z.enum(['full', 'selective', 'entity']),
  tables: z.array(tablePreviewSchema),
  addedByDependencies: z.array(z.string()),
  brokenReferences: z.array(z.string()),
  estimatedSeconds: z.number(),
}) satisfies z.ZodType<RestorePreview>;
