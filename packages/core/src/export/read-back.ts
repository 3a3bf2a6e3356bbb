import type { Logger } from '@mp/logger';
import { copiesOf, type CopyLocation, type StoredCopy } from '../backups/copies.js';
import type { RecordStorage } from '../backups/record-storage.js';
import type { StorageSet } from '../deps.js';
import { NO_ENCRYPTION, type EncryptionSettings } from '../crypto/plaintext.js';
import type { InvariantWarning } from '../verify/business-invariants.js';
import type { Keyring } from '../crypto/index.js';
import { readBackCopy, readCopyBytes, type ExpectedFile } from '../verify/read-copy.js';
import {
  buildReport,
  failuresOf,
  toReportWarnings,
  type CheckName,
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
 * run on one copy only when the others hold the same bytes: {@link readCopiesOnce}).
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
  },
): Promise<ReadBackOutcome> {
  const started = Date.now();
  const copies = copiesOf({ storage });
  const keyring = (deps.encryption ?? NO_ENCRYPTION).keyring;
  const reports = await readCopiesOnce(deps.storage, expected, copies, keyring);
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
 * Reads every copy back side by side and checks the content once. Copies are the same bytes: once a copy's
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
): Promise<CopyReport[]> {
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
