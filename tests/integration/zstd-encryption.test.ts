import { createReadStream } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectBackupFile,
  isEncryptedBackup,
  openPlaintext,
  rekeyBackups,
  runBackup,
  runRestore,
  verifyBackup,
  type EncryptionSettings,
  type RestoreDeps,
  type VerifyReport,
} from '@mp/core';
import { seedDemoData } from '@mp/db';
import {
  createBackupRecord,
  createRestoreWorkspace,
  createTestDatabase,
  recordRestore,
  tableHashes,
  type RestoreWorkspace,
  type TestDatabase,
} from '@mp/testing';

// zstd under encryption (compress → encrypt on write, decrypt → decompress on read) through the core functions.
const K1 = { id: 'z1', bytes: randomBytes(32) };
const K2 = { id: 'z2', bytes: randomBytes(32) };
const keys = (current: typeof K1, ...older: (typeof K1)[]): EncryptionSettings => ({
  current,
  keyring: new Map([current, ...older].map((k) => [k.id, k.bytes])),
  required: true,
});
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const TABLES = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs'];

let db: TestDatabase;
let workspace: RestoreWorkspace;
let dir: string;
let base: RestoreDeps;
const withKeys = (encryption: EncryptionSettings): RestoreDeps => ({ ...base, encryption });

async function restoreFrom(deps: RestoreDeps, backupId: string) {
  const id = await recordRestore(db, { backupId });
  return runRestore(deps, id, { jobId: id });
}

const checkOf = (report: VerifyReport, name: string) => report.copies[0]?.checks.find((c) => c.name === name);

beforeAll(async () => {
  db = await createTestDatabase();
  // Every file compressed (threshold 0), at zstd's fastest level.
  workspace = await createRestoreWorkspace(db, 'zstd', {
    settings: { gzipLevel: 1, zstdLevel: 1, compressThresholdBytes: 0 },
  });
  ({ dir, deps: base } = workspace);
  await seedDemoData(db, { scale: 1, seed: 17 });
});

afterAll(async () => {
  await db?.drop();
  await workspace?.remove();
});

describe('zstd with encryption at rest', () => {
  it('compresses then encrypts, reads back, verifies, restores, and re-keys', async () => {
    const snapshot = await tableHashes(db.pool, TABLES);
    const id = await createBackupRecord(db.prisma, {
      options: { includeAuditLogs: true, includeSessions: false, compression: 'zstd' },
    });
    await runBackup(withKeys(keys(K1)), id, { attempt: 1, isLastAttempt: true });
    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(record).toMatchObject({ status: 'completed', compressed: true, encryptionKeyId: 'z1' });
    expect(record.filename).toMatch(/\.json\.zst\.enc$/);
    const file = path.join(dir, 'backups', record.filename);
    const stored = await readFile(file);
    expect(isEncryptedBackup(stored)).toBe(true);

    // Inside the encryption: a zstd frame (compressed before encryption, so the ciphertext is the small one).
    const plain = await openPlaintext(createReadStream(file), keys(K1).keyring);
    const head: Buffer[] = [];
    for await (const chunk of plain.stream as AsyncIterable<Buffer>) head.push(chunk);
    const inner = Buffer.concat(head);
    expect(inner.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(stored.length).toBeLessThan(inner.length + 1024);

    // The read-back after the export, verify, and the offline inspection (the CLI's) all decompress it.
    const readBack = record.verification as unknown as VerifyReport;
    expect(readBack.ok).toBe(true);
    expect(checkOf(readBack, 'decompress')).toEqual({ name: 'decompress', ok: true, details: 'zstd' });
    const report = await verifyBackup(withKeys(keys(K1)), id);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(checkOf(report, 'decrypt')).toMatchObject({ ok: true });
    const inspected = await inspectBackupFile(createReadStream(file), keys(K1).keyring);
    expect(inspected).toMatchObject({
      ok: true,
      encrypted: true,
      keyId: 'z1',
      compressed: true,
      compression: 'zstd',
      problems: [],
    });

    await db.pool.query(`UPDATE loans SET notes = 'changed'`);
    await db.pool.query(`DELETE FROM audit_logs`);
    await restoreFrom(withKeys(keys(K1)), id);
    expect(await tableHashes(db.pool, TABLES)).toEqual(snapshot);

    // Re-keyed to z2: the name keeps its codec, and the file still restores with z2 alone.
    const operationId = randomUUID();
    await db.prisma.operation.create({
      data: { id: operationId, kind: 'rekey', jobId: operationId, input: { fromKeyId: 'z1' } },
    });
    const rekeyed = await rekeyBackups(withKeys(keys(K2, K1)), { operationId, fromKeyId: 'z1' });
    expect(rekeyed.failed).toEqual([]);
    const moved = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(moved).toMatchObject({ encryptionKeyId: 'z2' });
    expect(moved.filename).toMatch(/\.rk[a-z0-9]+\.json\.zst\.enc$/);
    await db.pool.query(`UPDATE loans SET notes = 'changed again'`);
    await restoreFrom(withKeys(keys(K2)), id);
    expect(await tableHashes(db.pool, TABLES)).toEqual(snapshot);
  });
});
