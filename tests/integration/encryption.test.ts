import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isAppError,
  isEncryptedBackup,
  previewEntityRestore,
  readKeyId,
  rekeyBackups,
  runBackup,
  runRestore,
  verifyBackup,
  exportRestorePoint,
  type VerifyReport,
  type EncryptionSettings,
  type RestoreDeps,
} from '@mp/core';
import { seedDemoData } from '@mp/db';
import {
  createBackupRecord,
  createRestoreWorkspace,
  createTestDatabase,
  recordRestore,
  tableHashes,
  type TestDatabase,
} from '@mp/testing';

const SEGMENT = 64 * 1024;
const K1 = { id: 'k1', bytes: randomBytes(32) };
const K2 = { id: 'k2', bytes: randomBytes(32) };
const keys = (current: typeof K1 | null, ...older: (typeof K1)[]): EncryptionSettings => ({
  current,
  keyring: new Map([...(current ? [current] : []), ...older].map((k) => [k.id, k.bytes])),
  required: false,
});

let db: TestDatabase;
let dir: string;
let base: RestoreDeps;
const withKeys = (encryption: EncryptionSettings): RestoreDeps => ({ ...base, encryption });

/** A stored backup (plain JSON, so the file has several 64 KiB segments) written with `encryption`. */
async function backup(encryption: EncryptionSettings) {
  const id = await createBackupRecord(db.prisma, { options: { includeAuditLogs: true, includeSessions: false } });
  await runBackup(
    { ...withKeys(encryption), settings: { gzipLevel: 1, compressThresholdBytes: 64 * 1024 * 1024 } },
    id,
    { attempt: 1, isLastAttempt: true },
  );
  const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
  return { id, record, file: path.join(dir, 'backups', record.filename) };
}

async function restore(deps: RestoreDeps, source: { backupId: string } | { bytes: Buffer }, skipSafetyBackup = true) {
  const from =
    'backupId' in source ? source : { ...source, uploadDir: path.join(dir, 'uploads'), extension: '.json.enc' };
  const id = await recordRestore(db, from, { skipSafetyBackup });
  return runRestore(deps, id, { jobId: id });
}

/** Everything a refused restore must leave as it was. */
async function state() {
  const staging = await db.pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp_restore%'`);
  return {
    tables: await tableHashes(db.pool),
    records: await db.prisma.backupRecord.count(),
    staging: staging.rows,
    files: (await readdir(path.join(dir, 'backups'))).sort(),
  };
}

async function refusedWith(deps: RestoreDeps, source: { backupId: string } | { bytes: Buffer }): Promise<string> {
  const before = await state();
  const err = await restore(deps, source).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'the restore must be refused').not.toBeNull();
  expect(await state()).toEqual(before);
  return isAppError(err) ? err.code : String(err);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  db = await createTestDatabase();
  ({ dir, deps: base } = await createRestoreWorkspace(db, 'encrypt'));
  await seedDemoData(db, { scale: 1, seed: 11 });
});

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The named check of the (only, local) copy in a verify report. */
function checkOf(report: VerifyReport, name: string) {
  return report.copies[0]?.checks.find((c) => c.name === name);
}

describe('encryption at rest', () => {
  let made: Awaited<ReturnType<typeof backup>>;
  let stored: Buffer;
  let snapshot: Awaited<ReturnType<typeof tableHashes>>;
  /** Where segment 0 starts: the prefix (MPBE, version, id length, "k1") and Tink's 40-byte header. */
  const first = 4 + 1 + 1 + 2 + 40;

  beforeAll(async () => {
    snapshot = await tableHashes(db.pool);
    made = await backup(keys(K1));
    stored = await readFile(made.file);
  });

  it(
    'writes an encrypted file named for it, with the key id on the record and the checksum of the stored ' + 'bytes',
    () => {
      expect(isEncryptedBackup(stored)).toBe(true);
      expect(readKeyId(stored)).toBe('k1');
      expect(made.record).toMatchObject({
        encryptionKeyId: 'k1',
        checksum: sha256(stored),
        fileSize: BigInt(stored.length),
      });
      expect(made.record.filename).toMatch(/\.json\.enc$/);
      expect(stored.includes(Buffer.from('"metadata"'))).toBe(false);
      expect(stored.length).toBeGreaterThan(first + 4 * SEGMENT); // room for the segment cases below
    },
  );

  it('restores (scale 1) to the same content hashes, and verify reads it', async () => {
    await db.pool.query(`UPDATE loans SET notes = 'changed'`);
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments LIMIT 5)`);
    const result = await restore(withKeys(keys(K1)), { backupId: made.id });
    expect(result.sha256).toBe(made.record.checksum);
    const after = await tableHashes(db.pool);
    for (const t of ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs'])
      expect(after[t], t).toEqual(snapshot[t]);
    const report = await verifyBackup(withKeys(keys(K1)), made.id);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(checkOf(report, 'checksum')).toMatchObject({ ok: true });
    expect(checkOf(report, 'decrypt')).toMatchObject({ ok: true, details: 'key k1' });
  });

  it('previews an entity restore from it (its checksum is the stored, encrypted bytes)', async () => {
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM unions ORDER BY id LIMIT 1');
    const preview = await previewEntityRestore(withKeys(keys(K1)), {
      source: { kind: 'backup', backupId: made.id },
      entityType: 'union',
      entityId: rows[0]!.id,
    });
    expect(preview.mode).toBe('entity');
    expect(preview.tables.length).toBeGreaterThan(0);
  });

  it('restores an uploaded encrypted file too (the header, not the name, says it is encrypted)', async () => {
    await db.pool.query(`UPDATE loans SET notes = 'changed again'`);
    await restore(withKeys(keys(K1)), { bytes: stored });
    expect((await tableHashes(db.pool, ['loans'])).loans).toEqual(snapshot.loans);
  });

  it(
    'refuses a wrong key and a missing key, changing nothing; verify reports it and keeps the checksum ' + 'right',
    async () => {
      const wrong = { id: 'k1', bytes: randomBytes(32) };
      expect(await refusedWith(withKeys(keys(wrong)), { backupId: made.id })).toBe('BACKUP_DECRYPTION_FAILED');
      expect(await refusedWith(withKeys(keys(null)), { backupId: made.id })).toBe('BACKUP_KEY_UNAVAILABLE');
      expect(await refusedWith(base, { bytes: stored })).toBe('BACKUP_KEY_UNAVAILABLE');
      const report = await verifyBackup(withKeys(keys(K2)), made.id);
      expect(report.ok).toBe(false);
      expect(checkOf(report, 'checksum')).toMatchObject({ ok: true });
      expect(checkOf(report, 'decrypt')?.details).toMatch(/BACKUP_KEY_UNAVAILABLE.*"k1"/);
      expect(report.problems.join(' ')).toMatch(/BACKUP_KEY_UNAVAILABLE.*"k1"/);
    },
  );

  it(
    'refuses a flipped byte in the header, in a segment and in a tag; a truncated file; reordered ' + 'segments',
    async () => {
      const deps = withKeys(keys(K1));
      const flip = (at: number) => {
        const copy = Buffer.from(stored);
        copy[at] = copy[at]! ^ 0x01;
        return copy;
      };
      expect(await refusedWith(deps, { bytes: flip(first - 20) })).toBe('BACKUP_DECRYPTION_FAILED'); // the salt
      expect(await refusedWith(deps, { bytes: flip(6) })).toBe('BACKUP_KEY_UNAVAILABLE'); // the key id: "j1" or "k0"
      // segment 1, segment 0's tag, the last tag
      expect(await refusedWith(deps, { bytes: flip(first + SEGMENT + 100) })).toBe('BACKUP_DECRYPTION_FAILED');
      expect(await refusedWith(deps, { bytes: flip(first + SEGMENT - 40 - 1) })).toBe('BACKUP_DECRYPTION_FAILED');
      expect(await refusedWith(deps, { bytes: flip(stored.length - 1) })).toBe('BACKUP_DECRYPTION_FAILED');
      // Cut at a segment boundary (every segment before it authentic) and inside a segment.
      const boundary = first + (SEGMENT - 40) + 2 * SEGMENT;
      expect(await refusedWith(deps, { bytes: stored.subarray(0, boundary) })).toBe('BACKUP_TRUNCATED');
      expect(await refusedWith(deps, { bytes: stored.subarray(0, boundary + 1000) })).toBe('BACKUP_DECRYPTION_FAILED');
      expect(await refusedWith(deps, { bytes: stored.subarray(0, 30) })).toBe('BACKUP_TRUNCATED');
      // Segments 1 and 2 swapped.
      const s1 = first + SEGMENT - 40;
      const swapped = Buffer.concat([
        stored.subarray(0, s1),
        stored.subarray(s1 + SEGMENT, s1 + 2 * SEGMENT),
        stored.subarray(s1, s1 + SEGMENT),
        stored.subarray(s1 + 2 * SEGMENT),
      ]);
      expect(swapped.length).toBe(stored.length);
      expect(await refusedWith(deps, { bytes: swapped })).toBe('BACKUP_DECRYPTION_FAILED');
    },
  );

  it('refuses a stored file altered in place, and verify reports it', async () => {
    const altered = Buffer.from(stored);
    altered[first + 2 * SEGMENT] = altered[first + 2 * SEGMENT]! ^ 0x80;
    await writeFile(made.file, altered);
    try {
      expect(await refusedWith(withKeys(keys(K1)), { backupId: made.id })).toBe('BACKUP_DECRYPTION_FAILED');
      const report = await verifyBackup(withKeys(keys(K1)), made.id);
      expect(report.ok).toBe(false);
      expect(checkOf(report, 'checksum')).toMatchObject({ ok: false });
      expect(checkOf(report, 'decrypt')?.details).toMatch(/BACKUP_DECRYPTION_FAILED/);
    } finally {
      await writeFile(made.file, stored);
    }
  });

  it('encrypts the pre-restore safety backup as well', async () => {
    const result = await restore(withKeys(keys(K1)), { backupId: made.id }, false);
    expect(result.safetyBackup).toBe('pending');
    // The pre-restore file is written from the restore point after the restore, as the worker's housekeeping job does.
    const op = await db.prisma.operation.findFirstOrThrow({
      where: { kind: 'restore' },
      orderBy: { createdAt: 'desc' },
    });
    const exported = await exportRestorePoint(withKeys(keys(K1)), op.id, { attempt: 1, isLastAttempt: true });
    if (!('backupId' in exported)) throw new Error(`not exported: ${exported.skipped}`);
    const safety = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: exported.backupId } });
    expect(safety.encryptionKeyId).toBe('k1');
    expect(isEncryptedBackup(await readFile(path.join(dir, 'backups', safety.filename)))).toBe(true);
  });

  it('fails closed: with encryption required and no key, nothing is written', async () => {
    const id = randomUUID();
    await db.prisma.backupRecord.create({
      data: { id, filename: `backup_${id}.json`, type: 'manual', location: 'local' },
    });
    const before = (await readdir(path.join(dir, 'backups'))).sort();
    const err = await runBackup({ ...withKeys({ ...keys(null), required: true }) }, id, {
      attempt: 1,
      isLastAttempt: true,
    }).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('BACKUP_KEY_UNAVAILABLE');
    expect((await readdir(path.join(dir, 'backups'))).sort()).toEqual(before);
  });

  it(
    'writes again, encrypted, a retried backup whose attempt before encryption became required left a clear ' + 'file',
    async () => {
      const clear = await backup(keys(null));
      // As if that attempt crashed after writing its file, and the worker restarted with encryption required.
      await db.prisma.backupRecord.update({ where: { id: clear.id }, data: { status: 'running', completedAt: null } });
      await runBackup({ ...withKeys({ ...keys(K1), required: true }) }, clear.id, { attempt: 2, isLastAttempt: true });
      const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: clear.id } });
      expect(record).toMatchObject({ status: 'completed', encryptionKeyId: 'k1' });
      expect(isEncryptedBackup(await readFile(path.join(dir, 'backups', record.filename)))).toBe(true);
      await expect(readFile(clear.file)).rejects.toThrow(); // the clear file is gone
    },
  );

  it('reads backups written in clear before encryption was switched on', async () => {
    const clear = await backup(keys(null));
    expect(clear.record.encryptionKeyId).toBeNull();
    expect(isEncryptedBackup(await readFile(clear.file))).toBe(false);
    await restore(withKeys(keys(K2, K1)), { backupId: clear.id });
    expect(await verifyBackup(withKeys(keys(K2, K1)), clear.id)).toMatchObject({ ok: true });
  });
});

describe('key rotation', () => {
  it(
    'keeps old backups restorable with the old key among the decryption keys, and rekey moves them to the new ' + 'key',
    async () => {
      const snapshot = await tableHashes(db.pool);
      const old = await backup(keys(K1));
      const oldBytes = await readFile(old.file);
      const rotated = withKeys(keys(K2, K1));
      const fresh = await backup(keys(K2));
      expect(fresh.record.encryptionKeyId).toBe('k2');
      await restore(rotated, { backupId: old.id });

      const operationId = randomUUID();
      await db.prisma.operation.create({
        data: { id: operationId, kind: 'rekey', jobId: operationId, input: { fromKeyId: 'k1' } },
      });
      const progress: number[] = [];
      const result = await rekeyBackups(rotated, { operationId, fromKeyId: 'k1' }, (p) => progress.push(p.percent));
      expect(result.rekeyed.map((r) => r.id)).toContain(old.id);
      expect(result.failed).toEqual([]);
      expect(progress.at(-1)).toBe(100);
      expect(await db.prisma.backupRecord.count({ where: { encryptionKeyId: 'k1' } })).toBe(0);

      const moved = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: old.id } });
      const newBytes = await readFile(path.join(dir, 'backups', moved.filename));
      expect(readKeyId(newBytes)).toBe('k2');
      expect(moved).toMatchObject({ encryptionKeyId: 'k2', checksum: sha256(newBytes) });
      expect(moved.checksum).not.toBe(old.record.checksum);
      await expect(readFile(old.file)).rejects.toThrow(); // the old copy is gone
      expect(oldBytes.length).toBeGreaterThan(0);

      // Only the new key is needed now.
      await db.pool.query(`UPDATE loans SET notes = 'after rotation'`);
      await restore(withKeys(keys(K2)), { backupId: old.id });
      expect((await tableHashes(db.pool, ['loans'])).loans).toEqual(snapshot.loans);

      // A rekey without the old key in the keyring is refused before anything is touched.
      const refused = await rekeyBackups(withKeys(keys(K2)), { operationId, fromKeyId: 'k1' }).catch((e: unknown) => e);
      expect((refused as Error).message).toMatch(/BACKUP_DECRYPTION_KEYS/);
    },
  );
});

describe('worker start-up', () => {
  const startWorker = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'services/worker/src/main.ts'], {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: 'postgresql://x@127.0.0.1:1/x',
          REDIS_URL: 'redis://127.0.0.1:1',
          LOG_LEVEL: 'silent',
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });

  it(
    'refuses to start without a valid key when encryption is required, naming the variable and never the ' + 'key',
    async () => {
      const secret = Buffer.from(randomBytes(16)).toString('base64');
      const [missing, short] = await Promise.all([
        startWorker({ BACKUP_ENCRYPTION_REQUIRED: 'true' }),
        startWorker({ BACKUP_ENCRYPTION_REQUIRED: 'true', BACKUP_ENCRYPTION_KEY: `k1:${secret}` }),
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/BACKUP_ENCRYPTION_REQUIRED is true, so BACKUP_ENCRYPTION_KEY must be set/);
      expect(short.code).toBe(1);
      expect(short.stderr).toMatch(/BACKUP_ENCRYPTION_KEY .*"k1" is 16 bytes/);
      expect(short.stderr).not.toContain(secret);
    },
  );
});
