import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError, previewPrune, pruneBackups, type PruneReport } from '@mp/core';
import type { BackupStatus, BackupType, PrismaClient } from '@mp/db';
import { createLogger } from '@mp/logger';
import { createCloudinaryStorage, createLocalStorage, type BackupStorage } from '@mp/storage';
import { createTestDatabase, startCloudinaryEmulator, type CloudinaryEmulator, type TestDatabase } from '@mp/testing';

const DAY = 24 * 3600 * 1000;
const NOW = new Date('2026-06-15T12:00:00Z');
const logger = createLogger({ level: 'silent' });

let db: TestDatabase;
let prisma: PrismaClient;
let emulator: CloudinaryEmulator;
let dir: string;
let local: BackupStorage;
let cloud: BackupStorage;

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  prisma = db.prisma;
  emulator = await startCloudinaryEmulator();
  cloud = createCloudinaryStorage({ url: emulator.cloudinaryUrl, folder: 'backups', requestTimeoutMs: 10_000 });
});

afterAll(async () => {
  await emulator?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await prisma.backupRecord.deleteMany();
  await prisma.backupSchedule.deleteMany();
  emulator.clearFailures();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), 'mp-retention-'));
  local = createLocalStorage({ dir });
  for (const r of emulator.resources()) await cloud.delete(r.publicId.replace(/^backups\//, ''));
});

const deps = (storage: { local: BackupStorage; cloud: BackupStorage | null } = { local, cloud }) => ({
  prisma,
  storage,
  logger,
  now: () => NOW,
});

/** A backup record `daysAgo` old with real copies in the listed locations. */
async function addBackup(
  daysAgo: number,
  status: BackupStatus,
  copies: ('local' | 'cloud')[] = [],
  type: BackupType = 'manual',
): Promise<string> {
  const key = `backup_${randomBytes(6).toString('hex')}.json`;
  const storage: Record<string, unknown> = {};
  for (const where of copies) {
    const stored = await (where === 'local' ? local : cloud).put(key, Readable.from([`{"k":"${key}"}`]));
    storage[where] = { key: stored.key, ...stored.location };
  }
  const record = await prisma.backupRecord.create({
    data: {
      filename: key,
      type,
      status,
      location: copies.length === 2 ? 'both' : (copies[0] ?? 'local'),
      storage: storage as object,
      createdAt: new Date(NOW.getTime() - daysAgo * DAY),
    },
  });
  return record.id;
}

const localFiles = async () => (await readdir(dir)).sort();
const cloudKeys = () =>
  emulator
    .resources()
    .map((r) => r.publicId.replace(/^backups\//, ''))
    .sort();
const filenameOf = async (id: string) => (await prisma.backupRecord.findUniqueOrThrow({ where: { id } })).filename;

describe('retention pruning', () => {
  it('deletes old backups from every location and keeps the newest completed and unfinished ones', async () => {
    const old1 = await addBackup(100, 'completed', ['local', 'cloud']);
    const preRestore = await addBackup(70, 'completed', ['local'], 'pre_restore');
    const goneCopy = await addBackup(60, 'completed', ['local']);
    const failed = await addBackup(50, 'failed');
    const partial = await addBackup(45, 'partial', ['local']);
    const running = await addBackup(90, 'running');
    const queued = await addBackup(90, 'queued');
    const newestCompleted = await addBackup(40, 'completed', ['local', 'cloud']);
    const recentFailed = await addBackup(5, 'failed');
    await unlink(join(dir, await filenameOf(goneCopy))); // a copy already gone is fine
    const keptFiles = [await filenameOf(newestCompleted)];

    const preview = await previewPrune(deps(), { retentionDays: 30 });
    const expected = [old1, preRestore, goneCopy, failed, partial];
    expect(preview.backups.map((b) => b.id)).toEqual(expected);
    expect(preview.keptId).toBe(newestCompleted);
    expect(preview.cutoff).toBe(new Date(NOW.getTime() - 30 * DAY).toISOString());
    expect(await prisma.backupRecord.count()).toBe(9); // the preview deleted nothing
    expect(await localFiles()).toHaveLength(4);

    const report = await pruneBackups(deps(), { retentionDays: 30 });
    expect(report.deleted.map((d) => d.id)).toEqual(preview.backups.map((b) => b.id));
    expect(report.deleted.map((d) => d.filename)).toEqual(preview.backups.map((b) => b.filename));
    expect(report).toMatchObject({ failed: [], keptId: newestCompleted, retentionDays: 30 });

    const left = await prisma.backupRecord.findMany({ select: { id: true } });
    expect(left.map((r) => r.id).sort()).toEqual([running, queued, newestCompleted, recentFailed].sort());
    expect(await localFiles()).toEqual(keptFiles);
    expect(cloudKeys()).toEqual(keptFiles);

    // Nothing left to do: a second run deletes nothing and does not fail.
    expect((await pruneBackups(deps(), { retentionDays: 30 })).deleted).toEqual([]);
  });

  it('never deletes the newest completed backup, even when every backup is old', async () => {
    const older = await addBackup(400, 'completed', ['local']);
    const newest = await addBackup(300, 'completed', ['local']);
    const report = await pruneBackups(deps(), { retentionDays: 1 });
    expect(report.deleted.map((d) => d.id)).toEqual([older]);
    expect(report.keptId).toBe(newest);
    expect(await prisma.backupRecord.count()).toBe(1);
  });

  it('keeps a backup that a queued or running restore or verify reads', async () => {
    await addBackup(1, 'completed', ['local']);
    const restoring = await addBackup(100, 'completed', ['local']);
    const verifying = await addBackup(90, 'completed', ['local']);
    const free = await addBackup(80, 'completed', ['local'], 'pre_restore');
    await prisma.operation.createMany({
      data: [
        { kind: 'restore', status: 'running', backupId: restoring },
        { kind: 'verify', status: 'queued', backupId: verifying },
        { kind: 'restore', status: 'completed', backupId: free },
      ],
    });
    const preview = await previewPrune(deps(), { retentionDays: 30 });
    expect(preview.backups).toEqual([
      expect.objectContaining({ id: free, type: 'pre-restore', status: 'completed', location: 'local' }),
    ]);
    expect((await pruneBackups(deps(), { retentionDays: 30 })).deleted.map((d) => d.id)).toEqual([free]);
    await prisma.operation.deleteMany();
  });

  it("uses the schedule's retention when none is given", async () => {
    await prisma.backupSchedule.create({ data: { id: 'default', retentionDays: 10 } });
    await addBackup(1, 'completed', ['local']);
    const old = await addBackup(20, 'completed', ['local']);
    expect((await previewPrune(deps())).backups.map((b) => b.id)).toEqual([old]);
    expect((await previewPrune(deps(), { retentionDays: 30 })).backups).toEqual([]);
    const err = await previewPrune(deps(), { retentionDays: 0 }).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('VALIDATION_ERROR');
  });

  it('keeps a record whose copy cannot be deleted, notes why, deletes the others, then throws', async () => {
    await addBackup(1, 'completed', ['local']);
    const cloudFails = await addBackup(100, 'completed', ['local', 'cloud']);
    const localFails = await addBackup(90, 'completed', ['local']);
    const fine = await addBackup(80, 'completed', ['local', 'cloud']);
    // A real local failure: the key is now a folder, which unlink refuses.
    const blocked = join(dir, await filenameOf(localFails));
    await unlink(blocked);
    await mkdir(blocked);
    emulator.failNext(1, 500, 'destroy');

    const err = await pruneBackups(deps(), { retentionDays: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('STORAGE_ERROR');
    const report = (err as AppError).details as PruneReport;
    expect(report.deleted.map((d) => d.id)).toEqual([fine]);
    expect(report.failed.map((f) => f.id)).toEqual([cloudFails, localFails]);
    expect(report.failed[0]?.reason).toMatch(/^cloud copy /);

    const kept = await prisma.backupRecord.findUniqueOrThrow({ where: { id: cloudFails } });
    expect(kept.error).toMatch(/Prune could not delete this backup: cloud copy/);
    // Its local copy is gone and no longer listed; the cloud copy is still there and still listed.
    expect(Object.keys(kept.storage as object)).toEqual(['cloud']);
    expect(cloudKeys()).toEqual([kept.filename]);
    expect((await prisma.backupRecord.findUniqueOrThrow({ where: { id: localFails } })).error).toMatch(/local copy/);
    expect(await prisma.backupRecord.findUnique({ where: { id: fine } })).toBeNull();

    // Once storage works again, the retry finishes the job.
    await rm(blocked, { recursive: true });
    const retry = await pruneBackups(deps(), { retentionDays: 30 });
    expect(retry.deleted.map((d) => d.id)).toEqual([cloudFails, localFails]);
    expect(cloudKeys()).toEqual([]);
  });

  it('fails a record with a cloud copy when cloud storage is not configured', async () => {
    await addBackup(1, 'completed', ['local']);
    const both = await addBackup(100, 'completed', ['local', 'cloud']);
    const err = await pruneBackups(deps({ local, cloud: null }), { retentionDays: 30 }).catch((e: unknown) => e);
    const report = (err as AppError).details as PruneReport;
    expect(report.failed).toEqual([{ id: both, reason: expect.stringMatching(/cloud storage is not configured/) }]);
  });
});
