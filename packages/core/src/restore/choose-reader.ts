import type { SqlRunner } from '../sql/dialect.js';
import { BackupScanner, type ScanEvent } from '../backup-format/json-scanner.js';
import { BACKUP_TABLES } from '../backup-format/tables.js';
import { isJsonColumn, readColumns } from '../backup-format/catalog.js';
import type { CopyColumn } from '../backup-format/copy-text.js';
import { LineReader, ourLayoutMetadata, type LineEvent } from '../backup-format/line-reader.js';
import { readMetadata, type BackupMetadata } from '../backup-format/metadata.js';
import { tagsJsonValues } from '../backup-format/json-values.js';

const NEWLINE_BYTE = 0x0a;
/** Past this many bytes without a newline, the file is not laid out as this product writes it. */
const MAX_FIRST_LINE = 4 * 1024 * 1024;

/** How the rest of the file is read, and what the reader made of the start it was given. */
export type ChosenReader =
  | {
      /** A file of ours: rows checked against the live `columns` and turned into COPY text. */
      typed: true;
      reader: LineReader;
      metadata: BackupMetadata;
      taggedJson: boolean;
      columns: Map<string, CopyColumn[]>;
      events: LineEvent[];
    }
  | {
      /** Any other file: the structural scanner hands over each row's JSON untouched. */
      typed: false;
      reader: BackupScanner;
      events: ScanEvent[];
    };

/**
 * The start of a file, kept until its first line is in: that line decides how the file is read.
 * A file laid out as this product writes it (metadata alone on the first line) whose metadata
 * `allowTyped` accepts goes through the {@link LineReader}; any other through the structural scanner.
 */
export class ReaderChoice {
  private head: Buffer[] = [];
  private headBytes = 0;

  constructor(
    /** The staging connection, as the stage guards it (see `StagingTables.runner`). */
    private readonly client: SqlRunner,
    private readonly allowTyped: ((metadata: BackupMetadata | undefined) => boolean) | undefined,
    private readonly maxRowBytes: number,
  ) {}

  /** Keeps `chunk`; true once the choice can be made (the first line is in, or the metadata is too long to be ours). */
  add(chunk: Buffer): boolean {
    this.head.push(chunk);
    this.headBytes += chunk.length;
    return chunk.indexOf(NEWLINE_BYTE) >= 0 || this.headBytes >= MAX_FIRST_LINE;
  }

  /**
   * Picks the reader from the first line (from what is kept, at the end of a short file), and gives it what is kept.
   */
  async choose(): Promise<ChosenReader> {
    const head = Buffer.concat(this.head);
    this.head = [];
    const nl = head.indexOf(NEWLINE_BYTE);
    const raw = nl >= 0 ? ourLayoutMetadata(head.subarray(0, nl).toString('utf8')) : undefined;
    let metadata: BackupMetadata | undefined;
    if (raw !== undefined) {
      metadata = readMetadata(raw);
      if (!this.allowTyped?.(metadata)) metadata = undefined;
    }
    if (!metadata) {
      const reader = new BackupScanner(this.maxRowBytes);
      return { typed: false, reader, events: reader.push(head) };
    }
    const taggedJson = tagsJsonValues(metadata.version);
    const columns = await this.liveColumns();
    const reader = new LineReader((key) => columns.get(key), nl + 1, { taggedJson });
    return { typed: true, reader, metadata, taggedJson, columns, events: reader.push(head.subarray(nl + 1)) };
  }

  /**
   * The live columns of every table a backup can hold, read once: the line reader checks each row
   * against them, and each typed table's COPY lists them in the same order.
   */
  private async liveColumns(): Promise<Map<string, CopyColumn[]>> {
    const columns = new Map<string, CopyColumn[]>();
    for (const t of BACKUP_TABLES) {
      const live = await readColumns(this.client, t.table);
      columns.set(
        t.key,
        live.map((c) => ({ name: c.name, json: isJsonColumn(c) })),
      );
    }
    return columns;
  }
}
