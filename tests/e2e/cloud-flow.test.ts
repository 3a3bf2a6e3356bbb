import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecordStorage } from '@mp/core';
import {
  startCloudinaryEmulator,
  type CloudinaryEmulator,
  type E2eEnvironment,
  type ServiceProcess,
  type TestDatabase,
} from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// Cloud and both locations through API and worker, against the signature-checking emulator.
let stack: E2eStack;
let db: TestDatabase;
let env: E2eEnvironment;
let cloud: CloudinaryEmulator;
let api: ServiceProcess;
let token: string;
let login: () => Promise<string>;

async function backupTo(location: 'cloud' | 'both') {
  const res = await client(api, token).json<{ jobId: string; backupId: string }>('POST', '/api/backup/create', {
    location,
  });
  expect(res.status).toBe(202);
  const done = await waitForJob(api, token, res.body.data.jobId);
  const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: res.body.data.backupId } });
  return { done, record, copies: readRecordStorage(record.storage) };
}

beforeAll(async () => {
  cloud = await startCloudinaryEmulator();
  stack = await startE2eStack({
    scale: 1,
    seed: 9,
    env: { CLOUDINARY_URL: cloud.cloudinaryUrl, CLOUDINARY_URL_TTL_SECONDS: '60' },
  });
  // The stack's admin is in every backup below, so it can log in again after a restore.
  ({ db, env, api, login } = stack);
  token = await login();
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await cloud?.close();
});

describe('location cloud', () => {
  let record: Awaited<ReturnType<typeof backupTo>>['record'];

  it('uploads an authenticated raw resource under backups/ and keeps no local copy', async () => {
    const made = await backupTo('cloud');
    record = made.record;
    expect(made.done.state).toBe('completed');
    expect(made.copies.local).toBeUndefined();
    expect(made.copies.cloud?.publicId).toBe(`backups/${record.filename}`);
    expect(record.cloudinaryUrl).toBeTruthy();
    expect(record.cloudinaryAssetId).toBeTruthy();
    expect(cloud.resources().map((r) => r.publicId)).toContain(`backups/${record.filename}`);
    expect(existsSync(path.join(env.backupDir, record.filename))).toBe(false);
  });

  it('downloads by redirect to an expiring signed URL that returns the same bytes', async () => {
    const res = await client(api, token).raw(`/api/backup/download/${record.id}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    const expiresAt = Number(location.searchParams.get('expires_at'));
    expect(expiresAt * 1000).toBeGreaterThan(Date.now());
    expect(expiresAt * 1000).toBeLessThanOrEqual(Date.now() + 61_000);
    const file = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(createHash('sha256').update(file).digest('hex')).toBe(record.checksum);

    // The link is signed: moving its expiry makes it worthless.
    location.searchParams.set('expires_at', String(expiresAt + 3600));
    expect((await fetch(location)).status).toBeGreaterThanOrEqual(400);
  });

  it('restores from the cloud copy', async () => {
    await db.pool.query(`UPDATE loans SET notes = 'cloud edit'`);
    const res = await client(api, token).json<{ jobId: string }>('POST', '/api/backup/restore', {
      backupId: record.id,
      skipSafetyBackup: true,
    });
    expect(res.status).toBe(202);
    const done = await waitForJob(api, token, res.body.data.jobId, { relogin: login });
    expect(done.state).toBe('completed');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM loans WHERE notes = 'cloud edit'`);
    expect(rows[0].n).toBe(0);
    token = await login();
  });

  it('delete removes the cloud copy, then the record', async () => {
    const res = await client(api, token).json('DELETE', `/api/backup/${record.id}`);
    expect(res.status).toBe(200);
    expect(cloud.resources().map((r) => r.publicId)).not.toContain(`backups/${record.filename}`);
    expect(await db.prisma.backupRecord.findUnique({ where: { id: record.id } })).toBeNull();
  });
});

describe('location both', () => {
  it('keeps both copies; download prefers the local one', async () => {
    const { record, copies } = await backupTo('both');
    expect(record.status).toBe('completed');
    expect(copies.local && copies.cloud).toBeTruthy();
    const res = await client(api, token).raw(`/api/backup/download/${record.id}`);
    expect(res.status).toBe(200);
    const file = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(file).digest('hex')).toBe(record.checksum);
  });

  it('retries an upload the cloud refused once, and completes', async () => {
    cloud.failNext(1, 500, 'upload');
    const { record, done } = await backupTo('both');
    expect(done.state).toBe('completed');
    expect(record.attempts).toBe(2);
    expect(readRecordStorage(record.storage).cloud).toBeTruthy();
  });
});

describe('secrets', () => {
  it('never reach the logs of either process', () => {
    for (const service of [api, stack.worker]) {
      expect(service.output()).not.toContain(cloud.apiSecret);
      expect(service.output()).not.toContain(env.env.JWT_SECRET!);
    }
  });
});
