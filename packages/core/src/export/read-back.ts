import type { Logger } from '@mp/logger';
import { copiesOf, type CopyLocation, type StoredCopy } from '../backups/copies.js';
import type { RecordStorage } from '../backups/record-storage.js';
import type { StorageSet } from '../deps.js';
import { NO_ENCRYPTION, type EncryptionSettings } from '../crypto/plaintext.js';
import type { InvariantWarning } from '../verify/business-invariants.js';
import type { Keyring } from '../crypto/index.js';
import { readBackCopy, readCopyBytes, type ExpectedFile, type WrittenCheck } from '../verify/read-copy.js';
import {
  buildReport,
  failuresOf,
  toReportWarnings,
  type CheckName,
  type CheckResult,
  type CopyReport,
  type VerifyReport,
} from '../verify/report.js';

export interface ReadBackOutcome {
  report: VerifyReport;
  /** The copies that passed, as `storage` should now list them (damaged ones removed). */
  storage: RecordStorage;
  /** Copies that failed read-back, with why (one line each). */
  failed: { copy: CopyLocation; reason: string }[];
  /** Copies that could not be read at all (storage or network): worth another attempt. */
  unreadable: CopyLocation[];
  /** Removing a failed copy from its storage failed: it is dropped from the record but may remain. */
  leftovers: string[];
}

/**
 * Read-back after write: reads every copy in `storage` back from where it was stored and checks it
 * against the record (readable, size, checksum, decompress, parse, metadata, counts; the content checks
 * run once, on the bytes as they were written (`written`) or else on one copy, when the copies hold the
 * same bytes: {@link readCopiesOnce}).
 * The reference check is skipped (it needs the rows staged; `POST /api/backup/:id/verify` runs it),
 * and the report says so (`references: 'skipped'`). `snapshotWarnings` are the invariants the export
 * computed in its own snapshot (absent when this attempt resumed a file exported earlier), or the promise
 * of them while PostgreSQL still computes them: awaited after the copies are read, so both run at once.
 * Copies that fail are deleted from their storage unless `keepFailed` (an unreadable copy on an
 * attempt that will be retried), so a record only ever lists copies that passed.
 */
export async function readBackCopies(
  deps: { storage: StorageSet; logger: Logger; encryption?: EncryptionSettings },
  expected: ExpectedFile,
  storage: RecordStorage,
  opts: {
    snapshotWarnings?: InvariantWarning[] | Promise<InvariantWarning[] | undefined>;
    keepUnreadable: boolean;
    /** The file's bytes as they were written, checked on their way to storage (absent for a file resumed). */
    written?: WrittenCheck | null;
  },
): Promise<ReadBackOutcome> {
  const started = Date.now();
  const copies = copiesOf({ storage });
  const keyring = (deps.encryption ?? NO_ENCRYPTION).keyring;
  const reports = await readCopiesOnce(deps.storage, expected, copies, keyring, opts.written);
  const readMs = Date.now() - started;
  // PostgreSQL computed them in the export's snapshot while the copies were read; rejects if they failed.
  const snapshotWarnings = await opts.snapshotWarnings;
  const report: VerifyReport = {
    ...buildReport({
      trigger: 'read-back',
      copies: reports,
      references: 'skipped',
      invariants: snapshotWarnings ? 'snapshot' : 'not-run',
      warnings: toReportWarnings(snapshotWarnings ?? []),
    }),
    durationMs: readMs,
  };
  const unreadable = reports.filter((r) => r.checks.some((c) => c.name === 'readable' && !c.ok)).map((r) => r.copy);
  const outcome: ReadBackOutcome = { report, storage: { ...storage }, failed: [], unreadable, leftovers: [] };
  if (opts.keepUnreadable && unreadable.length > 0) return outcome;
  for (const r of reports.filter((x) => !x.ok)) {
    outcome.failed.push({ copy: r.copy, reason: failuresOf(r).join('; ') });
    const copy = copies.find((c) => c.location === r.copy)!;
    delete outcome.storage[r.copy];
    try {
      await deps.storage[r.copy]?.delete(copy.key);
    } catch (err) {
      outcome.leftovers.push(`${r.copy} copy ${copy.key}`);
      deps.logger.warn({ location: r.copy, err: (err as Error).message }, 'read-back: could not delete a damaged copy');
    }
  }
  deps.logger.info({ ok: report.ok, copies: reports.length, ms: report.durationMs }, 'backup read back');
  return outcome;
}

/** The checks on the stored bytes themselves; every other check is on the content they hold. */
const BYTES_CHECKS: ReadonlySet<CheckName> = new Set(['readable', 'size', 'checksum']);

/**
 * Reads every copy back side by side and checks the content once. With `written` (the content checked as the file
 * was written, every check passed) and the record's size and SHA-256 being those bytes', each copy is read in full
 * and hashed only: a copy that matches the record holds exactly the bytes that were checked, and its report
 * carries their content checks; a copy that does not is read again in full, so its report names its problem.
 * Without it, copies are the same bytes: once a copy's
 * stored bytes were read in full and their SHA-256 and size match the record, its content is that of any other
 * copy that matched, and the content checks (decrypt, decompress, parse, metadata, counts) are functions of those
 * bytes. So the local copy (else the first) gets the full {@link readBackCopy}, and every other copy a bytes-only
 * read ({@link readCopyBytes}) at the same time: the cloud download overlaps the local checks, and its content
 * costs no decompression or row check. When both matched the record, the other copy's report carries the content
 * checks' outcome as one `content` check; otherwise (a damaged copy, on either side) that copy is read again in
 * full, so its report names its problem exactly as a full check does. A copy that could not be read stays so.
 * Trap: that fallback downloads a damaged cloud copy twice; only damaged backups pay for it.
 */
async function readCopiesOnce(
  storage: StorageSet,
  expected: ExpectedFile,
  copies: StoredCopy[],
  keyring: Keyring,
  written?: WrittenCheck | null,
): Promise<CopyReport[]> {
  const asWritten = written && writtenContent(written, expected);
  if (asWritten) {
    return Promise.all(
      copies.map(async (copy) => {
        const report = await readCopyBytes(storage, expected, copy);
        if (!passed(report, 'readable')) return report;
        return bytesMatch(report)
          ? withWrittenContent(report, asWritten)
          : readBackCopy(storage, expected, copy, keyring);
      }),
    );
  }
  const full = copies.find((c) => c.location === 'local') ?? copies[0];
  if (!full) return [];
  const first = await Promise.all(
    copies.map((copy) =>
      copy === full ? readBackCopy(storage, expected, copy, keyring) : readCopyBytes(storage, expected, copy),
    ),
  );
  const fullReport = first[copies.indexOf(full)]!;
  return Promise.all(
    first.map((report, i) => {
      if (report === fullReport || !passed(report, 'readable')) return report;
      if (bytesMatch(fullReport) && bytesMatch(report)) return withContentOf(report, fullReport);
      return readBackCopy(storage, expected, copies[i]!, keyring);
    }),
  );
}

function passed(report: CopyReport, name: CheckName): boolean {
  return report.checks.some((c) => c.name === name && c.ok);
}

/** Read in full, with the size and SHA-256 the record has. */
function bytesMatch(report: CopyReport): boolean {
  return passed(report, 'readable') && passed(report, 'size') && passed(report, 'checksum');
}

/** The content checks of the bytes written, when they are the record's bytes and every check passed. */
function writtenContent(written: WrittenCheck, expected: ExpectedFile): CheckResult[] | undefined {
  if (written.sha256 !== expected.checksum || written.bytes !== Number(expected.fileSize)) return undefined;
  const checks = written.contentChecks(expected);
  return checks.every((c) => c.ok) ? checks : undefined;
}

/** `report` (bytes only, matching the record) with the content checks of the same bytes as they were written. */
function withWrittenContent(report: CopyReport, content: CheckResult[]): CopyReport {
  const checks = report.checks.map((c) =>
    c.name === 'checksum'
      ? { ...c, details: 'the bytes written, whose content was checked as they were written (the checks after this)' }
      : c,
  );
  return { copy: report.copy, ok: true, checks: [...checks, ...content] };
}

/** `report` (bytes only) with the content checks of `checked`, a copy of the same bytes, as one `content` check. */
function withContentOf(report: CopyReport, checked: CopyReport): CopyReport {
  const content = checked.checks.filter((c) => !BYTES_CHECKS.has(c.name));
  const ok = content.length > 0 && content.every((c) => c.ok);
  const names = (checks: CopyReport['checks']) => checks.map((c) => c.name).join(', ');
  const outcome =
    content.length === 0
      ? 'no content check ran'
      : ok
        ? `${names(content)} passed`
        : `${names(content.filter((c) => !c.ok))} failed`;
  const details =
    `same bytes as the ${checked.copy} copy (size and SHA-256 match the record), whose content was checked: ` +
    `${outcome}; this copy was read in full and hashed, its content not checked again`;
  const checks = [...report.checks, { name: 'content' as const, ok, details }];
  return { copy: report.copy, ok: checks.every((c) => c.ok), checks };
}
