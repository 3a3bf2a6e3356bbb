import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { PrismaClient } from '@mp/db';
import { BackupScanner } from '../backup-format/json-scanner.js';
import { readMetadata } from '../backup-format/metadata.js';
import { readRecordStorage } from '../backups/record-storage.js';
import type { StorageSet } from '../deps.js';
import { AppError } from '../errors.js';

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
export async function verifyBackup(deps: { prisma: PrismaClient; storage: StorageSet }, backupId: string): Promise<VerificationReport> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: backupId } });
  if (!record) throw new AppError('BACKUP_NOT_FOUND', `Backup ${backupId} does not exist`);
  const copies = readRecordStorage(record.storage);
  const copy = copies.local ? 'local' : 'cloud';
  const key = copies.local?.key ?? copies.cloud?.key;
  const driver = copies.local ? deps.storage.local : deps.storage.cloud;
  if (!key || !driver) throw new AppError('BACKUP_FILE_MISSING', `Backup ${backupId} has no copy to verify`);

  const problems: string[] = [];
  const counts: Record<string, number> = {};
  let metadata: ReturnType<typeof readMetadata> | undefined;
  const hash = createHash('sha256');
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
  const source = await driver.open(key);
  async function* tap(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield chunk;
    }
  }
  try {
    const input = Readable.from(tap(), { objectMode: false });
    if (record.compressed) await pipeline(input, createGunzip(), sink);
    else await pipeline(input, sink);
  } catch (err) {
    problems.push(`The file cannot be read as a backup: ${(err as Error).message}`);
  }
  const checksumOk = record.checksum !== null && hash.digest('hex') === record.checksum;
  if (!checksumOk) problems.push('The file does not match its recorded checksum');
  const expected = (metadata?.recordCounts ?? {}) as Record<string, number | undefined>;
  for (const [table, n] of Object.entries(expected)) {
    if (n !== undefined && counts[table] !== n) problems.push(`${table}: metadata says ${n} rows, the file has ${counts[table] ?? 0}`);
  }
  const report: VerificationReport = { ok: problems.length === 0, checkedAt: new Date().toISOString(), copy, checksumOk, counts, problems };
  await deps.prisma.backupRecord.update({ where: { id: backupId }, data: { verification: report as unknown as object } });
  return report;
}
