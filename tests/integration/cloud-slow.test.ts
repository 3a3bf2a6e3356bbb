import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecordStorage, runBackup, type BackupRunDeps } from '@mp/core';
import { seedDemoData } from '@mp/db';
import { createLogger } from '@mp/logger';
import { createCloudinaryStorage, createLocalStorage } from '@mp/storage';
import { createTestDatabase, startCloudinaryEmulator, type CloudinaryEmulator, type TestDatabase } from '@mp/testing';

// A cloud that answers, but too slowly: the upload gives up at its timeout instead of hanging the job, the
// attempt is retried while attempts remain, and the last one leaves a readable reason (issue 11, item 7).
let db: TestDatabase;
let cloud: CloudinaryEmulator;
let dir: string;
let deps: BackupRunDeps;

async function record(location: 'cloud' | 'both') {
  const id = randomUUID();
  await db.prisma.backupRecord.create({
    data: { id, filename: `backup_${id}.json`, type: 'manual', location, options: { includeAuditLogs: false, includeSessions: false } },
  });
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  await seedDemoData(db, { scale: 0.1, seed: 3 });
  cloud = await startCloudinaryEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'mp-cloud-slow-'));
  deps = {
    prisma: db.prisma,
    pool: db.pool,
    logger: createLogger({ level: 'silent' }),
    settings: { gzipLevel: 1, compressThresholdBytes: 1024 * 1024 },
    storage: { local: createLocalStorage({ dir }), cloud: createCloudinaryStorage({ url: cloud.cloudinaryUrl, requestTimeoutMs: 300 }) },
  };
  cloud.setDelay(2_000);
});

afterAll(async () => {
  await cloud?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a slow cloud', () => {
  it('times the upload out and asks for a retry while attempts remain', async () => {
    const id = await record('both');
    await expect(runBackup(deps, id, { attempt: 1, isLastAttempt: false })).rejects.toThrow(/will retry/);
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(row.status).not.toBe('completed');
    expect(readRecordStorage(row.storage).cloud).toBeUndefined();
  });

  it('leaves a "both" backup partial on the last attempt, with its local copy and the reason', async () => {
    const id = await record('both');
    const result = await runBackup(deps, id, { attempt: 3, isLastAttempt: true });
    expect(result.status).toBe('partial');
    const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(row.error).toMatch(/local copy is complete.*Cloudinary upload failed/);
    expect(readRecordStorage(row.storage).local).toBeTruthy();
    expect(readRecordStorage(row.storage).cloud).toBeUndefined();
  });

  it('fails a "cloud" backup on the last attempt and keeps no local file or cloud copy for it', async () => {
    const id = await record('cloud');
    await expect(runBackup(deps, id, { attempt: 3, isLastAttempt: true })).rejects.toThrow(/Upload to Cloudinary failed/);
    expect((await readdir(dir)).filter((f) => f.includes(id))).toEqual([]);
    // runBackup throws; the worker's handler then marks the record failed with this message (tracking.ts).
    expect(readRecordStorage((await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } })).storage).cloud).toBeUndefined();
  });
});
