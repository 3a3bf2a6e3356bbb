import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupScanner, type ScanEvent } from '../backup-format/json-scanner.js';
import { readMetadata, type BackupMetadata } from '../backup-format/metadata.js';
import { createDecryptStream, isEncryptedBackup, readKeyId, type Keyring } from '../crypto/index.js';
import { Sha256Tally } from '../crypto/sha256.js';
import { isAppError } from '../errors.js';
import { decompressing, type Compression } from '../backup-format/compression.js';

/** What {@link inspectBackupFile} found in a backup file read on its own (no database, no record). */
export interface FileInspection {
  ok: boolean;
  /** SHA-256 and size of the bytes as given (as stored: encrypted and compressed when they are). */
  sha256: string;
  bytes: number;
  encrypted: boolean;
  keyId: string | null;
  compressed: boolean;
  /** The codec its first bytes (after decryption) name; null for plain JSON. */
  compression: Compression | null;
  metadata: BackupMetadata | null;
  /** Rows found per table. */
  counts: Record<string, number>;
  /** Each problem as a sentence; empty when the file is sound. */
  problems: string[];
}

/**
 * Reads a backup file once, the way restore would, without a database: decrypts it when it is encrypted
 * (with `keyring`), decompresses it when it is gzip or zstd, scans its structure, reads its metadata and
 * compares the rows of each table with the metadata's counts. Also the SHA-256 of the bytes as given, to
 * compare with a record's checksum. A file that cannot be read is a report with problems, not an error.
 */
export async function inspectBackupFile(source: Readable, keyring: Keyring = new Map()): Promise<FileInspection> {
  const result: FileInspection = {
    ok: false,
    sha256: '',
    bytes: 0,
    encrypted: false,
    keyId: null,
    compressed: false,
    compression: null,
    metadata: null,
    counts: {},
    problems: [],
  };
  const tally = new Sha256Tally();
  let head: Buffer | null = null;
  const chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  // The first bytes say what the file is: encrypted (its own header), gzip, zstd, or plain JSON.
  const first = await chunks.next();
  head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  async function* all(): AsyncGenerator<Buffer> {
    if (head && head.length > 0) {
      const first = head;
      head = null;
      tally.add(first);
      yield first;
    }
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      const chunk = Buffer.from(next.value);
      tally.add(chunk);
      yield chunk;
    }
  }
  const start = head;
  result.encrypted = isEncryptedBackup(start);
  if (result.encrypted) {
    try {
      result.keyId = readKeyId(start);
    } catch {
      result.keyId = null;
    }
  }

  const scanner = new BackupScanner();
  const onEvents = (events: ScanEvent[]) => {
    for (const e of events) {
      if (e.type === 'metadata') {
        try {
          result.metadata = readMetadata(e.value);
        } catch (err) {
          result.problems.push(describe(err));
        }
      }
      if (e.type === 'tableEnd') result.counts[e.key] = e.count;
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        onEvents(scanner.push(chunk));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      try {
        onEvents(scanner.end());
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  const stages: (Readable | Transform | Writable)[] = [Readable.from(all(), { objectMode: false })];
  if (result.encrypted) stages.push(createDecryptStream(keyring));
  stages.push(
    decompressing((kind) => {
      result.compression = kind;
      result.compressed = kind !== null;
    }),
  );
  stages.push(sink);
  try {
    await pipeline(stages as [Readable, ...Transform[], Writable]);
  } catch (err) {
    result.problems.push(`The file cannot be read as a backup: ${describe(err)}`);
    // Count what was left unread, so the checksum is that of the whole file.
    for await (const _ of all()) void _;
  }
  ({ sha256: result.sha256, bytes: result.bytes } = tally.result());
  // Where the scan stopped says nothing useful about a file with no bytes at all.
  if (result.bytes === 0) result.problems.splice(0, result.problems.length, 'The file is empty (0 bytes)');
  if (!result.metadata && result.problems.length === 0) result.problems.push('The file has no metadata');
  const expected = (result.metadata?.recordCounts ?? {}) as Record<string, number | undefined>;
  for (const [table, n] of Object.entries(expected)) {
    if (n !== undefined && result.counts[table] !== n)
      result.problems.push(`${table}: the metadata says ${n} rows, the file has ${result.counts[table] ?? 0}`);
  }
  result.ok = result.problems.length === 0;
  return result;
}

function describe(err: unknown): string {
  if (isAppError(err)) {
    const problems = (err.details as { problems?: { field?: string; problem?: string }[] } | undefined)?.problems;
    if (problems?.length) return problems.map((p) => `${p.field ?? ''}: ${p.problem ?? ''}`).join('; ');
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
