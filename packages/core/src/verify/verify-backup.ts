import type { PrismaClient } from '@mp/db';
import { copiesOf } from '../backups/copies.js';
import type { StorageSet } from '../deps.js';
import { AppError } from '../errors.js';
import { toJsonValue } from '../json-value.js';
import { NO_ENCRYPTION } from '../crypto/plaintext.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import { checkStagedCopy } from './check-staged.js';
import { readBackCopy, type ExpectedFile } from './read-copy.js';
import { buildReport, toReportWarnings, type CopyReport, type VerifyReport } from './report.js';

export type { VerifyReport } from './report.js';
/** The earlier name of {@link VerifyReport}. */
export type VerificationReport = VerifyReport;

export type VerifyDeps = Pick<BackupRunDeps, 'prisma' | 'pool' | 'logger' | 'encryption'> & { storage: StorageSet };

/**
 * Verifies every stored copy of a backup on demand, without touching live data: each copy is read
 * from where it is kept and checked against its record ({@link readBackCopy}: readable, size,
 * checksum, decompress, parse, metadata, counts). Then one copy whose content read cleanly is loaded
 * into a scratch schema with the restore's own code ({@link checkStagedCopy}: `rows`, `references`)
 * and the business invariants run on those rows; their result is added to every copy that has the
 * same bytes (same checksum), since it is a property of the content. Invariants are `warnings` and
 * never fail the report. The report lands on the record (`verification`, `verifiedAt`); a failed
 * verification is a report, not an error.
 * @throws AppError BACKUP_NOT_FOUND; BACKUP_FILE_MISSING when the record lists no copy
 */
export async function verifyBackup(deps: VerifyDeps, backupId: string): Promise<VerifyReport> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: backupId } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${backupId} does not exist`);
  const copies = copiesOf(record);
  if (copies.length === 0) throw new AppError('BACKUP_FILE_MISSING', `Backup ${backupId} has no copy to verify`);

  const reports: CopyReport[] = [];
  const keyring = (deps.encryption ?? NO_ENCRYPTION).keyring;
  for (const copy of copies) reports.push(await readBackCopy(deps.storage, record, copy, keyring));

  // The content checks need the rows: one copy whose structure read cleanly is enough for all copies with its bytes.
  const readable = reports.find((r) => passed(r, 'parse'));
  let warnings: VerifyReport['warnings'] = [];
  let invariants: VerifyReport['invariants'] = 'not-run';
  let references: VerifyReport['references'] = 'skipped';
  if (readable) {
    const staged = await checkStagedCopy(deps, copies.find((c) => c.location === readable.copy)!, {
      backupId,
      trustedBytes: passed(readable, 'checksum'),
      encrypted: record.encryptionKeyId !== null,
    });
    for (const r of reports) {
      if (r === readable || (passed(r, 'checksum') && passed(readable, 'checksum')))
        addChecks(r, staged.checks, r === readable ? undefined : readable.copy);
    }
    // Rows that do not load stop before their references are checked.
    if (staged.checks.some((c) => c.name === 'references')) references = 'checked';
    if (staged.warnings) {
      warnings = toReportWarnings(staged.warnings);
      invariants = 'file';
    }
  }
  const report = buildReport({ trigger: 'verify', copies: reports, references, invariants, warnings });
  await saveReport(deps.prisma, backupId, report);
  return report;
}

/** Keeps `report` on the record as its latest verification. */
export async function saveReport(prisma: PrismaClient, backupId: string, report: VerifyReport): Promise<void> {
  await prisma.backupRecord.update({
    where: { id: backupId },
    data: { verification: toJsonValue(report), verifiedAt: new Date(report.checkedAt) },
  });
}

function passed(report: CopyReport, name: string): boolean {
  return report.checks.some((c) => c.name === name && c.ok);
}

/** Adds checks run on the content of another copy with the same bytes, saying so. */
function addChecks(report: CopyReport, checks: CopyReport['checks'], from?: CopyReport['copy']): void {
  for (const c of checks) {
    const note = from ? `checked on the ${from} copy, which has the same SHA-256` : undefined;
    report.checks.push({ ...c, ...(note ? { details: c.details ? `${c.details} (${note})` : note } : {}) });
  }
  report.ok = report.checks.every((c) => c.ok);
}

export type { ExpectedFile };
