import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupScanner, type ScanEvent } from '../backup-format/json-scanner.js';
import { decompressing } from '../backup-format/compression.js';

/** A table's content as a drill compares it: its row count and an order-free digest of its rows. */
export interface TableDigest {
  rows: number;
  /** 32 hex digits: the sum (mod 2^128) of the first 16 bytes of each row's SHA-256. */
  digest: string;
}

const MASK = (1n << 128n) - 1n;

/**
 * A JSON value with object keys sorted at every level, so two rows holding the same values compare
 * equal whatever order their fields were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Accumulates the digests of every table of one backup document. */
class Digests {
  private readonly sums = new Map<string, { rows: number; sum: bigint }>();

  add(event: ScanEvent): void {
    if (event.type === 'tableStart') this.sums.set(event.key, { rows: 0, sum: 0n });
    if (event.type !== 'rows') return;
    const table = this.sums.get(event.key)!;
    for (const raw of event.rows) {
      const h = createHash('sha256')
        .update(canonicalJson(JSON.parse(raw.toString('utf8'))))
        .digest();
      table.sum = (table.sum + ((h.readBigUInt64BE(0) << 64n) | h.readBigUInt64BE(8))) & MASK;
      table.rows++;
    }
  }

  result(): Record<string, TableDigest> {
    return Object.fromEntries(
      [...this.sums].map(([key, t]) => [key, { rows: t.rows, digest: t.sum.toString(16).padStart(32, '0') }]),
    );
  }
}

/**
 * Per-table row counts and content digests of a backup document (the stored file, gzip, zstd or plain, or an
 * export of a database with `exportSnapshot`): the ONE function a drill hashes both sides with, so a
 * scratch database restored from a file compares equal to that file exactly when it holds the same
 * rows, value for value (rows as the export writes them; field order and row order do not matter).
 * Streams: memory stays flat whatever the table sizes.
 * @throws the scanner's `ScanError` (or a JSON/gzip error) for a document that is not a backup
 */
export async function digestBackupDocument(source: AsyncIterable<Buffer>): Promise<Record<string, TableDigest>> {
  const digests = new Digests();
  const scanner = new BackupScanner();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        for (const e of scanner.push(chunk)) digests.add(e);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      try {
        for (const e of scanner.end()) digests.add(e);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  await pipeline(Readable.from(source, { objectMode: false }), decompressing(), sink);
  return digests.result();
}
