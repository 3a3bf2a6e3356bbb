import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { PrismaClient } from '@mp/db';
import { BackupScanner } from '../backup-format/json-scanner.js';
import { readMetadata } from '../backup-format/metadata.js';
import type { StorageSet } from '../deps.js';
import { AppError, isAppError } from '../errors.js';
import type { EncryptionSettings } from '../crypto/plaintext.js';
import { hashSource, openSource } from '../restore/source.js';

/** What verification found; stored on `BackupRecord.verification`. */
export interface VerificationReport {
  ok: boolean;
  checkedAt: string;
  copy: 'local' | 'cloud';
  checksumOk: boolean;
  counts: Record<string, number>;
  problems: string[];
}

/**
 * Verifies one stored backup without touching the database's data: reads the stored copy (local
 * preferred), checks its SHA-256 against the record, scans its structure and compares row counts
 * with the metadata. The report lands on the record; a failed verification is a report, not an error.
 */
export async function verifyBackup(
  deps: { prisma: PrismaClient; storage: StorageSet; encryption?: EncryptionSettings },
  backupId: string,
): Promise<VerificationReport> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: backupId } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${backupId} does not exist`);
  // The same opening as a restore's: an encrypted file is decrypted, the stored bytes are hashed.
  const opened = await openSource(deps, { kind: 'backup', backupId });
  const copy = opened.copy === 'cloud' ? 'cloud' : 'local';

  const problems: string[] = [];
  const counts: Record<string, number> = {};
  let metadata: ReturnType<typeof readMetadata> | undefined;
  const scanner = new BackupScanner();
  const onEvents = (events: ReturnType<BackupScanner['push']>) => {
    for (const e of events) {
      if (e.type === 'metadata') metadata = readMetadata(e.value);
      if (e.type === 'tableEnd') counts[e.key] = e.count;
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
  let readToEnd = true;
  try {
    if (record.compressed) await pipeline(opened.stream, createGunzip(), sink);
    else await pipeline(opened.stream, sink);
  } catch (err) {
    readToEnd = false;
    const code = isAppError(err) ? ` (${err.code})` : '';
    problems.push(`The file cannot be read as a backup${code}: ${(err as Error).message}`);
  }
  // The stored bytes were hashed on their way in; a read that stopped early hashed only part of them,
  // so they are read again (a missing key leaves the file intact, and the report should say so).
  const storedSha256 = readToEnd ? opened.storedSha256() : await hashSource(deps, { kind: 'backup', backupId }).catch(() => null);
  const checksumOk = record.checksum !== null && storedSha256 === record.checksum;
  if (!checksumOk) problems.push('The file does not match its recorded checksum');
  const expected = (metadata?.recordCounts ?? {}) as Record<string, number | undefined>;
  for (const [table, n] of Object.entries(expected)) {
    if (n !== undefined && counts[table] !== n) problems.push(`${table}: metadata says ${n} rows, the file has ${counts[table] ?? 0}`);
  }
  const report: VerificationReport = { ok: problems.length === 0, checkedAt: new Date().toISOString(), copy, checksumOk, counts, problems };
  await deps.prisma.backupRecord.update({ where: { id: backupId }, data: { verification: report as unknown as object } });
  return report;
}
