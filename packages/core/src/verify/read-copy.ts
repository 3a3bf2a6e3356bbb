import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isStorageError } from '@mp/storage';
import { BackupScanner, ScanError, type ScanEvent } from '../backup-format/json-scanner.js';
import { readMetadata, type BackupMetadata } from '../backup-format/metadata.js';
import { openCopy } from '../backups/open-copy.js';
import { readRecordCounts } from '../backups/record-storage.js';
import type { StoredCopy } from '../backups/copies.js';
import type { StorageSet } from '../deps.js';
import { isAppError, type AppError } from '../errors.js';
import type { CheckResult, CopyReport } from './report.js';
import { createDecryptStream, type Keyring } from '../crypto/index.js';
import { Sha256Tally, sha256Of, tallied, type Sha256Result } from '../crypto/sha256.js';
import { decompressing, isDecompressError, type Compression } from '../backup-format/compression.js';
import { jsonObjectProblem } from '../backup-format/json-check.js';
import { LayoutChecker, LayoutRowError } from '../backup-format/layout-check.js';
import { ourLayoutMetadata } from '../backup-format/line-reader.js';
import { NEWLINE } from '../backup-format/bytes.js';

/** What a file that does not decrypt fails with (crypto/decrypt-stream.ts). */
const DECRYPTION_ERRORS = new Set(['BACKUP_KEY_UNAVAILABLE', 'BACKUP_DECRYPTION_FAILED', 'BACKUP_TRUNCATED']);

/** What the record promises about its stored file; every copy is checked against it. */
export interface ExpectedFile {
  checksum: string | null;
  fileSize: bigint | number | null;
  compressed: boolean;
  formatVersion: string | null;
  schemaVersion: string | null;
  recordCounts: unknown;
  /** The key id of an encrypted file (null or absent: stored in clear). */
  encryptionKeyId?: string | null;
}

/** The stream broke while reading the stored bytes (storage or network), as opposed to bad content. */
class ReadFailure extends Error {}

/**
 * Reads one stored copy from where it is kept (through {@link openCopy}) and checks it against its
 * record, in one pass: `readable`, `size`, `checksum` (SHA-256 of the stored bytes), `decrypt` (an
 * encrypted file, with `keyring`), `decompress`
 * (gzip and zstd files, told apart by their first bytes whatever the record says), `parse` (the document's structure,
 * and every row a JSON object), `metadata` (valid,
 * and the schema version and counts the record holds) and `counts` (rows per table as the metadata
 * says). Never throws for a bad copy: each failure is a check with `ok: false` and its details.
 * A check that could not run (nothing decompressed, nothing to count) is left out, never passed.
 * Trap: when the content breaks part way, the copy is read a second time for its checksum; a copy that
 * leaves this product's line layout part way is read again through the structural scan for its problems.
 */
export async function readBackCopy(
  storage: StorageSet,
  expected: ExpectedFile,
  copy: StoredCopy,
  keyring: Keyring = new Map(),
  opts: { lineLayout?: boolean } = {},
): Promise<CopyReport> {
  const checks: CheckResult[] = [];
  const done = (): CopyReport => ({ copy: copy.location, ok: checks.every((c) => c.ok), checks });
  let source: Readable;
  try {
    source = await openCopy(storage, copy);
  } catch (err) {
    checks.push({ name: 'readable', ok: false, details: reasonOf(err) });
    return done();
  }
  const read = await readContent(source, expected.encryptionKeyId != null, keyring, opts.lineLayout ?? true);
  const { failure } = read;
  if (failure instanceof ReadFailure) {
    checks.push({ name: 'readable', ok: false, details: failure.message });
    return done();
  }
  if (failure instanceof ScanError && read.content.readLineByLine) {
    // It starts in this product's layout and departs from it part way (edited, or not written by us): read
    // it again through the structural scan, which names what is wrong with the document itself (a row
    // count, a value) rather than the first line out of place. Only damaged copies pay for the second read.
    return readBackCopy(storage, expected, copy, keyring, { lineLayout: false });
  }
  let stored = read.tally.result();
  if (failure !== undefined) {
    // The content stopped the read part way: the checksum and size need every stored byte.
    try {
      stored = await hashCopy(storage, copy);
    } catch (err) {
      checks.push({ name: 'readable', ok: false, details: reasonOf(err) });
      return done();
    }
  }
  checks.push({ name: 'readable', ok: true }, ...storedBytesChecks(expected, stored), ...contentChecks(expected, read));
  return done();
}

/** Bytes checked on their way to storage ({@link checkAsWritten}): their SHA-256 and size, and their content. */
export interface WrittenCheck extends Sha256Result {
  /** The content checks (`decrypt` … `counts`) against `expected`, the record written after the bytes. */
  contentChecks(expected: ExpectedFile): CheckResult[];
}

/**
 * Checks a file's content as it is written: `source` is a branch of the very bytes going to storage, read through
 * the same decryption, decompression and row checks as {@link readBackCopy}, and hashed. A stored copy whose size
 * and SHA-256 then match these bytes holds this content, so the read-back reads it for its bytes only
 * (`readBackCopies`), and the content checks run while PostgreSQL still builds the rows, not after the file.
 * Resolves to null when the bytes could not all be read or their content failed a check: the caller reads the
 * stored copy in full, which names the problem exactly as a read-back always did. Never rejects.
 */
export async function checkAsWritten(
  source: AsyncIterable<Buffer>,
  encrypted: boolean,
  keyring: Keyring,
): Promise<WrittenCheck | null> {
  const read = await readContent(source, encrypted, keyring, true);
  if (read.failure !== undefined) return null;
  return { ...read.tally.result(), contentChecks: (expected) => contentChecks(expected, read) };
}

/** A copy's bytes read through decryption, decompression and the content checks; `failure` is what stopped it. */
interface ContentRead {
  failure: unknown;
  compression: Compression | null;
  content: ContentSink;
  tally: Sha256Tally;
}

async function readContent(
  source: AsyncIterable<Buffer>,
  encrypted: boolean,
  keyring: Keyring,
  lineLayout: boolean,
): Promise<ContentRead> {
  const tally = new Sha256Tally();
  async function* tap(): AsyncGenerator<Buffer> {
    try {
      yield* tallied(source, tally);
    } catch (err) {
      throw new ReadFailure(reasonOf(err));
    }
  }
  const content = new ContentSink(lineLayout);
  let failure: unknown;
  let compression: Compression | null = null;
  const decompress = decompressing((kind) => (compression = kind));
  try {
    const input = Readable.from(tap(), { objectMode: false });
    if (encrypted) await pipeline(input, createDecryptStream(keyring), decompress, content);
    else await pipeline(input, decompress, content);
  } catch (err) {
    failure = err;
  }
  return { failure, compression, content, tally };
}

/**
 * The checks on what the bytes hold, after `readable`, `size` and `checksum`: `decrypt`, `decompress`, `parse`,
 * `metadata` and `counts`, each as far as the read got (a check that could not run is left out, never passed).
 */
function contentChecks(expected: ExpectedFile, read: ContentRead): CheckResult[] {
  const { failure, compression, content } = read;
  const checks: CheckResult[] = [];
  if (expected.encryptionKeyId != null) {
    const decryptFailed = isAppError(failure) && DECRYPTION_ERRORS.has(failure.code);
    checks.push(
      decryptFailed
        ? { name: 'decrypt', ok: false, details: `${(failure as AppError).code}: ${(failure as Error).message}` }
        : { name: 'decrypt', ok: true, details: `key ${expected.encryptionKeyId}` },
    );
    if (decryptFailed) return checks;
  }
  const decompressFailed = isDecompressError(failure);
  if (expected.compressed || compression) {
    checks.push(
      decompressFailed
        ? { name: 'decompress', ok: false, details: (failure as Error).message }
        : { name: 'decompress', ok: true, ...(compression ? { details: compression } : {}) },
    );
  }
  if (decompressFailed) return checks;
  if (isAppError(failure)) {
    // The metadata was refused where it was read: the rest of the document was not parsed.
    checks.push({ name: 'metadata', ok: false, details: failure.message + metadataProblems(failure.details) });
    return checks;
  }
  const parseFailed = failure !== undefined;
  checks.push(parseFailed ? { name: 'parse', ok: false, details: messageOf(failure) } : { name: 'parse', ok: true });
  if (content.metadata) checks.push(checkMetadata(content.metadata, expected));
  else if (!parseFailed) checks.push({ name: 'metadata', ok: false, details: 'the file has no "metadata" object' });
  if (!parseFailed && content.metadata) checks.push(checkCounts(content.metadata, content.counts));
  return checks;
}

/**
 * Reads one stored copy's bytes only and checks them against the record: `readable`, `size` and `checksum`
 * (every stored byte read and hashed, streaming). Nothing is decrypted, decompressed or parsed: for a copy
 * whose content is checked on another copy with the same bytes (the export's read-back, `readBackCopies`).
 * Never throws for a bad copy, like {@link readBackCopy}.
 */
export async function readCopyBytes(
  storage: StorageSet,
  expected: ExpectedFile,
  copy: StoredCopy,
): Promise<CopyReport> {
  let checks: CheckResult[];
  try {
    checks = [{ name: 'readable', ok: true }, ...storedBytesChecks(expected, await hashCopy(storage, copy))];
  } catch (err) {
    checks = [{ name: 'readable', ok: false, details: reasonOf(err) }];
  }
  return { copy: copy.location, ok: checks.every((c) => c.ok), checks };
}

/** `size` and `checksum`: the stored bytes read against what the record says of them. */
function storedBytesChecks(expected: ExpectedFile, stored: Sha256Result): CheckResult[] {
  const size = expected.fileSize === null ? null : Number(expected.fileSize);
  const { sha256, bytes } = stored;
  return [
    size === null || size === bytes
      ? { name: 'size', ok: true, details: `${bytes} bytes` }
      : { name: 'size', ok: false, details: `the record says ${size} bytes, the stored copy has ${bytes}` },
    expected.checksum === null
      ? { name: 'checksum', ok: false, details: 'the record has no checksum to compare with' }
      : sha256 === expected.checksum
        ? { name: 'checksum', ok: true }
        : { name: 'checksum', ok: false, details: `SHA-256 ${sha256} differs from the recorded ${expected.checksum}` },
  ];
}

/** The stored copy's SHA-256 and size, read again from the start. */
export async function hashCopy(storage: StorageSet, copy: StoredCopy): Promise<{ sha256: string; bytes: number }> {
  return sha256Of((await openCopy(storage, copy)) as AsyncIterable<Buffer>);
}

/** Longest first line looked at for this product's metadata line before falling back to the structural scan. */
const FIRST_LINE_MAX = 4 * 1024 * 1024;

/**
 * The document's bytes in: structure checked, every row checked to be a JSON object (on its bytes, as
 * `JSON.parse` would accept it), metadata read, rows counted. A document whose first line is this
 * product's metadata line is checked line by line in that layout ({@link LayoutChecker}); any other
 * goes through the structural scan ({@link BackupScanner}), each row checked the same way.
 */
class ContentSink extends Writable {
  private scanner: BackupScanner | undefined;
  private layout: LayoutChecker | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  metadata: BackupMetadata | undefined;
  private readonly scanned = new Map<string, number>();

  constructor(private readonly lineLayout: boolean) {
    super();
  }

  /** True when the document is being checked line by line in this product's layout. */
  get readLineByLine(): boolean {
    return this.layout !== undefined;
  }

  get counts(): Map<string, number> {
    return this.layout ? this.layout.counts : this.scanned;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.take(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      if (!this.layout && !this.scanner) this.choose(true);
      if (this.layout) this.layout.end();
      else this.handle(this.scanner!.end());
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private take(chunk: Buffer): void {
    if (this.layout) this.layout.push(chunk);
    else if (this.scanner) this.handle(this.scanner.push(chunk));
    else {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (chunk.includes(NEWLINE) || this.headBytes > FIRST_LINE_MAX) this.choose(false);
    }
  }

  /** Line by line when the first line is this product's metadata line, else the structural scan. */
  private choose(atEnd: boolean): void {
    const all = Buffer.concat(this.head);
    this.head = [];
    const nl = all.indexOf(NEWLINE);
    const ours = nl >= 0 && this.lineLayout ? ourLayoutMetadata(all.toString('utf8', 0, nl)) : undefined;
    if (ours !== undefined) {
      this.metadata = readMetadata(ours);
      this.layout = new LayoutChecker(nl + 1);
      this.layout.push(all.subarray(nl + 1));
    } else {
      this.scanner = new BackupScanner();
      if (all.length > 0 || atEnd) this.handle(this.scanner.push(all));
    }
  }

  private handle(events: ScanEvent[]): void {
    for (const e of events) {
      if (e.type === 'metadata') this.metadata = readMetadata(e.value);
      else if (e.type === 'tableStart') this.scanned.set(e.key, 0);
      else if (e.type === 'rows') {
        let n = this.scanned.get(e.key) ?? 0;
        for (const row of e.rows) {
          const problem = jsonObjectProblem(row);
          if (problem !== null) throw new LayoutRowError(e.key, n, problem);
          n++;
        }
        this.scanned.set(e.key, n);
      } else if (e.type === 'tableEnd') this.scanned.set(e.key, e.count);
    }
  }
}

function checkMetadata(metadata: BackupMetadata, expected: ExpectedFile): CheckResult {
  const problems: string[] = [];
  if (expected.formatVersion && metadata.version !== expected.formatVersion) {
    problems.push(`format ${metadata.version}, the record says ${expected.formatVersion}`);
  }
  if (expected.schemaVersion && metadata.schemaVersion !== expected.schemaVersion) {
    problems.push(`schema version ${metadata.schemaVersion ?? 'none'}, the record says ${expected.schemaVersion}`);
  }
  const recorded = readRecordCounts(expected.recordCounts);
  if (recorded) {
    const inFile = (metadata.recordCounts ?? {}) as Record<string, number | undefined>;
    for (const key of new Set([...Object.keys(recorded), ...Object.keys(inFile)])) {
      if (recorded[key] !== inFile[key])
        problems.push(`recordCounts.${key} is ${inFile[key] ?? 'missing'}, the record says ${recorded[key] ?? 'none'}`);
    }
  }
  return problems.length === 0
    ? { name: 'metadata', ok: true }
    : { name: 'metadata', ok: false, details: problems.join('; ') };
}

function checkCounts(metadata: BackupMetadata, counts: Map<string, number>): CheckResult {
  const problems: string[] = [];
  const promised = (metadata.recordCounts ?? {}) as Record<string, number | undefined>;
  for (const [table, n] of Object.entries(promised)) {
    if (n !== undefined && counts.get(table) !== n)
      problems.push(`${table}: metadata says ${n} rows, the file has ${counts.get(table) ?? 0}`);
  }
  for (const table of counts.keys())
    if (!(table in promised)) problems.push(`${table}: in the file but not in metadata.recordCounts`);
  if (problems.length > 0) return { name: 'counts', ok: false, details: problems.join('; ') };
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return { name: 'counts', ok: true, details: `${total} rows in ${counts.size} tables` };
}

function metadataProblems(details: unknown): string {
  const problems = (details as { problems?: { field?: string; problem: string }[] } | undefined)?.problems;
  return problems?.length ? `: ${problems.map((p) => `${p.field ? `${p.field} ` : ''}${p.problem}`).join('; ')}` : '';
}

function messageOf(err: unknown): string {
  return err instanceof ScanError || err instanceof LayoutRowError
    ? err.message
    : err instanceof Error
      ? err.message
      : String(err);
}

/** A read failure as a sentence without credentials (storage errors carry none by contract). */
function reasonOf(err: unknown): string {
  if (isStorageError(err)) return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
  if (isAppError(err)) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ? `read error ${code}` : err instanceof Error ? err.message : 'unknown read error';
}
