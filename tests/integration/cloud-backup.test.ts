import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { readRecordStorage, runBackup, type BackupRunDeps } from '@mp/core';
import { seedDemoData } from '@mp/db';
import { createLogger } from '@mp/logger';
import { createCloudinaryStorage, createLocalStorage, MIN_CHUNK_SIZE } from '@mp/storage';
import {
  createBackupRecord,
  createTestDatabase,
  startCloudinaryEmulator,
  type CloudinaryEmulator,
  type TestDatabase,
} from '@mp/testing';

// What a cloud outage leaves behind once no attempt is left.
let db: TestDatabase;
let cloud: CloudinaryEmulator;
let dir: string;
let deps: BackupRunDeps;

async function record(location: 'cloud' | 'both', includeAuditLogs = false) {
  return createBackupRecord(db.prisma, { location, options: { includeAuditLogs, includeSessions: false } });
}

beforeAll(async () => {
  db = await createTestDatabase();
  await seedDemoData(db, { scale: 1, seed: 2 });
  cloud = await startCloudinaryEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'mp-cloud-'));
  deps = {
    prisma: db.prisma,
    pool: db.pool,
    logger: createLogger({ level: 'silent' }),
    settings: { gzipLevel: 1, compressThresholdBytes: 1024 * 1024 },
    storage: { local: createLocalStorage({ dir }), cloud: createCloudinaryStorage({ url: cloud.cloudinaryUrl }) },
  };
});

beforeEach(() => cloud.clearFailures());

afterAll(async () => {
  await cloud?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cloud down during upload', () => {
  it('asks for a retry while attempts remain, keeping the exported file for it', async () => {
    cloud.failAll(503);
    const id = await record('both');
    await expect(runBackup(deps, id, { attempt: 1, isLastAttempt: false })).rejects.toThrow(/will retry/);
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(readRecordStorage(row.storage).local).toBeTruthy();
    // The retry uploads the same file without exporting again.
    cloud.clearFailures();
    const result = await runBackup(deps, id, { attempt: 2, isLastAttempt: true });
    expect(result.status).toBe('completed');
    expect((await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } })).checksum).toBe(row.checksum);
  });

  it('leaves a "both" backup partial with its local copy and the reason', async () => {
    cloud.failAll(503);
    const id = await record('both');
    const result = await runBackup(deps, id, { attempt: 3, isLastAttempt: true });
    expect(result.status).toBe('partial');
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(row.status).toBe('partial');
    expect(row.error).toMatch(/local copy is complete.*Cloudinary upload failed.*503/);
    expect(readRecordStorage(row.storage)).toMatchObject({ local: { key: row.filename } });
    expect(readRecordStorage(row.storage).cloud).toBeUndefined();
  });

  it('fails a "cloud" backup and removes its local staging file', async () => {
    cloud.failAll(503);
    const id = await record('cloud');
    await expect(runBackup(deps, id, { attempt: 3, isLastAttempt: true })).rejects.toThrow(
      /Upload to Cloudinary failed/,
    );
    const files = await readdir(dir);
    expect(files.filter((f) => f.includes(id))).toEqual([]);
  });

  it('never puts the API secret in the error it records', async () => {
    cloud.failAll(401);
    const id = await record('both');
    await runBackup(deps, id, { attempt: 3, isLastAttempt: true });
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(row.error).toBeTruthy();
    expect(row.error).not.toContain(cloud.apiSecret);
  });
});

// The upload runs beside the export; a part failing mid-way must cost an upload from the file, not an export.
describe('the upload beside the export', () => {
  // Uncompressed and 5 MB parts, so the file spans several parts.
  const overlapped = (): BackupRunDeps => ({
    ...deps,
    settings: { ...deps.settings, compressThresholdBytes: 1e9 },
    storage: {
      ...deps.storage,
      cloud: createCloudinaryStorage({ url: cloud.cloudinaryUrl, chunkSize: MIN_CHUNK_SIZE }),
    },
  });

  const failsMidWay =
    'fails mid-way plainly, marks nothing completed, ' + 'and the retry uploads the local file without exporting';
  it(failsMidWay, async () => {
    // About 11 MB of audit logs, so the file spans three parts (removed afterwards for the other tests).
    await db.pool.query(
      `INSERT INTO audit_logs (action, "entityType", after)
       SELECT 'test.fill', 'test', jsonb_build_object('pad', repeat(md5(g::text), 60)) FROM generate_series(1, 6000) g`,
    );
    onTestFinished(async () => {
      await db.pool.query(`DELETE FROM audit_logs WHERE action = 'test.fill'`);
    });
    const id = await record('both', true);
    cloud.resetStats();
    cloud.failNext(1, 500, 'upload', 1);
    await expect(runBackup(overlapped(), id, { attempt: 1, isLastAttempt: false })).rejects.toThrow(
      /^Upload to Cloudinary failed, will retry from the local file: .*HTTP 500/,
    );
    const failed = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(failed.status).toBe('running');
    expect(failed.completedAt).toBeNull();
    expect(Number(failed.fileSize)).toBeGreaterThan(MIN_CHUNK_SIZE);
    // The first part was stored, the second refused, and nothing was sent after it.
    expect(cloud.requests.filter((r) => r.contentRange).map((r) => r.status)).toEqual([200, 500]);
    const ours = () => cloud.resources().filter((r) => r.publicId.includes(id));
    expect(ours()).toEqual([]);
    const local = readRecordStorage(failed.storage).local!;
    expect(readRecordStorage(failed.storage).cloud).toBeUndefined();
    const file = await stat(local.path);

    cloud.resetStats();
    const result = await runBackup(overlapped(), id, { attempt: 2, isLastAttempt: false });
    expect(result.status).toBe('completed');
    const done = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    // Not exported again: the same file, untouched, and the same checksum.
    expect(done.checksum).toBe(failed.checksum);
    const again = await stat(local.path);
    expect([again.ino, again.mtimeMs]).toEqual([file.ino, file.mtimeMs]);
    // One whole upload of it, every part accepted.
    const parts = cloud.requests.filter((r) => r.contentRange);
    expect(parts.length).toBe(Math.ceil(Number(done.fileSize) / MIN_CHUNK_SIZE));
    expect(parts.every((r) => r.status === 200)).toBe(true);
    expect(ours().map((r) => [r.publicId, r.bytes])).toEqual([[`backups/${done.filename}`, Number(done.fileSize)]]);
  });
});

// A cloud that answers, but too slowly: the upload gives up at its timeout instead of hanging the job, the attempt
// is retried while attempts remain, and the last one leaves a readable reason.
describe('a slow cloud', () => {
  const slow = () => ({
    ...deps,
    storage: { ...deps.storage, cloud: createCloudinaryStorage({ url: cloud.cloudinaryUrl, requestTimeoutMs: 300 }) },
  });
  beforeEach(() => cloud.setDelay(2_000));
  afterEach(() => cloud.setDelay(0));

  it('times the upload out and asks for a retry while attempts remain', async () => {
    const id = await record('both');
    await expect(runBackup(slow(), id, { attempt: 1, isLastAttempt: false })).rejects.toThrow(/will retry/);
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(row.status).not.toBe('completed');
    expect(readRecordStorage(row.storage).cloud).toBeUndefined();
  });

  it('leaves a "both" backup partial on the last attempt, with its local copy and the reason', async () => {
    const id = await record('both');
    const result = await runBackup(slow(), id, { attempt: 3, isLastAttempt: true });
    expect(result.status).toBe('partial');
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(row.error).toMatch(/local copy is complete.*Cloudinary upload failed/);
    expect(readRecordStorage(row.storage).local).toBeTruthy();
    expect(readRecordStorage(row.storage).cloud).toBeUndefined();
  });

  it('fails a "cloud" backup on the last attempt and keeps no local file or cloud copy for it', async () => {
    const id = await record('cloud');
    await expect(runBackup(slow(), id, { attempt: 3, isLastAttempt: true })).rejects.toThrow(
      /Upload to Cloudinary failed/,
    );
    expect((await readdir(dir)).filter((f) => f.includes(id))).toEqual([]);
    expect(
      readRecordStorage((await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } })).storage).cloud,
    ).toBeUndefined();
  });
});
