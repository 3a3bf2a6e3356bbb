import type { Logger } from '@mp/logger';
import { copiesOf, type CopyLocation } from '../backups/copies.js';
import type { RecordStorage } from '../backups/record-storage.js';
import type { StorageSet } from '../deps.js';
import { NO_ENCRYPTION, type EncryptionSettings } from '../crypto/plaintext.js';
import type { InvariantWarning } from '../verify/business-invariants.js';
import { readBackCopy, type ExpectedFile } from '../verify/read-copy.js';
import { buildReport, failuresOf, toReportWarnings, type VerifyReport } from '../verify/report.js';

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
 * against the record (`readBackCopy`: readable, size, checksum, decompress, parse, metadata, counts).
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
  // Side by side (`both`): the cloud copy's download and inflation overlap the local copy's checks.
  const reports = await Promise.all(copies.map((copy) => readBackCopy(deps.storage, expected, copy, keyring)));
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
