import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Prisma } from '@mp/db';
import { createCloudinaryStorage } from '@mp/storage';
import { createApiTestContext, createUserAndLogin, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';
import { buildApp } from '../../services/api/src/app.js';

/** What the single-record answer adds to a list item (`toBackupDetail`). */
const DETAIL_ONLY = [
  'jobId',
  'compressed',
  'options',
  'formatVersion',
  'schemaVersion',
  'startedAt',
  'durationMs',
  'verification',
  'verifiedAt',
];

describe('backup list, get, download, delete', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const get = (url: string) => app.inject({ method: 'GET', url, headers });
  const record = (data: Partial<Prisma.BackupRecordUncheckedCreateInput> = {}) =>
    ctx.deps.prisma.backupRecord.create({
      data: { filename: 'backup_x.json', type: 'manual', location: 'local', status: 'completed', ...data },
    });
  /** A completed record whose local copy is a real file in the temp BACKUP_DIR. */
  async function storedBackup(bytes: Buffer, key = `backup_${randomUUID()}.json.gz`) {
    await mkdir(ctx.backupDir, { recursive: true });
    await writeFile(join(ctx.backupDir, key), bytes);
    return record({
      filename: key,
      compressed: key.endsWith('.gz'),
      fileSize: BigInt(bytes.length),
      checksum: 'c0ffee',
      storage: { local: { key, path: join(ctx.backupDir, key) } },
    });
  }

  beforeAll(async () => {
    const cloud = createCloudinaryStorage({
      url: 'cloudinary://key:secret@demo?upload_prefix=http%3A%2F%2F127.0.0.1%3A9',
    });
    ({ ctx, app } = await startApiApp({ cloud }));
  });
  afterAll(() => stopApiApp(ctx, app));
  beforeEach(async () => {
    await resetDatabase(ctx.db.pool);
    ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
  });

  it('lists newest first with a keyset cursor that neither skips nor repeats rows sharing a millisecond', async () => {
    // Five rows in one millisecond (microseconds apart) and two with equal timestamps: ids break the tie.
    await ctx.db.pool.query(`
      INSERT INTO backup_records (id, filename, type, status, location, "createdAt", "updatedAt") VALUES
        ('00000000-0000-4000-8000-000000000001', 'a.json', 'manual', 'completed', 'local',
          '2026-01-01T00:00:00.123001Z', now()),
        ('00000000-0000-4000-8000-000000000002', 'b.json', 'manual', 'completed', 'local',
          '2026-01-01T00:00:00.123002Z', now()),
        ('00000000-0000-4000-8000-000000000003', 'c.json', 'scheduled', 'failed', 'local',
          '2026-01-01T00:00:00.123003Z', now()),
        ('00000000-0000-4000-8000-000000000004', 'd.json', 'pre-restore', 'completed', 'local',
          '2026-01-01T00:00:00.123003Z', now()),
        ('00000000-0000-4000-8000-000000000005', 'e.json', 'manual', 'queued', 'local',
          '2026-01-01T00:00:00.123999Z', now()),
        ('00000000-0000-4000-8000-000000000006', 'f.json', 'manual', 'completed', 'local', '2026-01-02T00:00:00Z',
          now())`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/api/backup/list?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const { items, nextCursor } = res.json().data;
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((i: { filename: string }) => i.filename));
      cursor = nextCursor;
    } while (cursor);
    expect(seen).toEqual(['f.json', 'e.json', 'd.json', 'c.json', 'b.json', 'a.json']);

    const pre = (await get('/api/backup/list?type=pre-restore')).json().data.items;
    expect(pre.map((i: { filename: string; type: string }) => [i.filename, i.type])).toEqual([
      ['d.json', 'pre-restore'],
    ]);
    const done = (await get('/api/backup/list?status=completed&type=manual')).json().data.items;
    expect(done.map((i: { filename: string }) => i.filename)).toEqual(['f.json', 'b.json', 'a.json']);
    expect((await get('/api/backup/list')).json().data.items).toHaveLength(6);
  });

  it('rejects bad list parameters', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'status=done', 'type=pre_restore', 'cursor=bm9wZQ']) {
      const res = await get(`/api/backup/list?${q}`);
      expect([q, res.statusCode, res.json().error.code]).toEqual([q, 400, 'VALIDATION_ERROR']);
    }
  });

  it('shows one record in the list shape (fileSize a number, type mapped), 404 for unknown', async () => {
    const r = await record({
      type: 'pre_restore',
      fileSize: 5_000_000_000n,
      recordCounts: { users: 2 },
      checksum: 'ab',
      createdBy: 'admin',
    });
    const res = await get(`/api/backup/${r.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      id: r.id,
      filename: 'backup_x.json',
      fileSize: 5_000_000_000,
      location: 'local',
      cloudinaryUrl: null,
      type: 'pre-restore',
      status: 'completed',
      recordCounts: { users: 2 },
      checksum: 'ab',
      createdBy: 'admin',
      error: null,
    });
    const missing = await get(`/api/backup/${randomUUID()}`);
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'BACKUP_NOT_FOUND']);
  });

  it('shows a record in the list exactly as its own answer does, every list field set', async () => {
    // The list reads its page in one SQL query and the single-record answer through Prisma: they must agree.
    const checkedAt = '2026-12-01T02:00:05.000Z';
    const r = await record({
      type: 'pre_restore',
      status: 'partial',
      location: 'both',
      fileSize: 9_007_199_254_740_000n,
      checksum: 'ab'.repeat(32),
      recordCounts: { users: 2, loans: 7 },
      cloudinaryUrl: 'https://res.cloudinary.com/demo/raw/upload/b.json.gz',
      createdBy: 'admin',
      error: 'cloud copy: upload refused',
      labels: { reason: 'pre-migration', ticket: 'T-7' },
      pinned: true,
      pinNote: 'year-end',
      pinnedAt: new Date('2026-12-01T03:00:00.123Z'),
      pinnedBy: 'admin',
      encryptionKeyId: 'k2026',
      completedAt: new Date('2026-12-01T02:00:04.000Z'),
      verifiedAt: new Date(checkedAt),
      verification: {
        ok: false,
        checkedAt,
        trigger: 'read-back',
        copies: [{ copy: 'local', ok: false, checks: [{ name: 'checksum', ok: false, details: 'differs' }] }],
        references: 'skipped',
        invariants: 'snapshot',
        warnings: [
          { rule: 'LOAN_AMOUNT_PAID_MISMATCH', message: 'amountPaid differs', table: 'loans', count: 3, examples: [] },
        ],
        problems: ['local copy: checksum: differs'],
      },
    });
    const one = (await get(`/api/backup/${r.id}`)).json().data;
    const [item] = (await get('/api/backup/list?pinned=true')).json().data.items;
    expect(item.verificationSummary).toEqual({
      ok: false,
      trigger: 'read-back',
      checkedAt,
      failed: ['local copy: checksum: differs'],
      warnings: 3,
    });
    expect(item.fileSize).toBe(9_007_199_254_740_000);
    expect(item).toEqual(Object.fromEntries(Object.keys(item).map((k) => [k, one[k]])));
    expect(Object.keys(item).sort()).toEqual(
      Object.keys(one)
        .filter((k) => !DETAIL_ONLY.includes(k))
        .sort(),
    );
  });

  it('streams a local copy with its headers and exact bytes (completed and partial)', async () => {
    const bytes = Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(200_000)]);
    const r = await storedBackup(bytes);
    const res = await get(`/api/backup/download/${r.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${r.filename}"`);
    expect(res.headers['x-backup-checksum']).toBe('sha256=c0ffee');
    expect(Buffer.compare(res.rawPayload, bytes)).toBe(0);

    const json = await storedBackup(Buffer.from('{"metadata":{}}'), `backup_${randomUUID()}.json`);
    await ctx.deps.prisma.backupRecord.update({ where: { id: json.id }, data: { status: 'partial' } });
    const partial = await get(`/api/backup/download/${json.id}`);
    expect([partial.statusCode, partial.headers['content-type'], partial.body]).toEqual([
      200,
      'application/json',
      '{"metadata":{}}',
    ]);
  });

  it('refuses not-ready, unknown, missing and escaping copies', async () => {
    for (const status of ['queued', 'running', 'failed'] as const) {
      const r = await record({ status });
      const res = await get(`/api/backup/download/${r.id}`);
      expect([status, res.statusCode, res.json().error.code]).toEqual([status, 409, 'BACKUP_NOT_READY']);
    }
    const unknown = await get(`/api/backup/download/${randomUUID()}`);
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'BACKUP_NOT_FOUND']);

    const gone = await record({
      storage: { local: { key: 'backup_gone.json', path: join(ctx.backupDir, 'backup_gone.json') } },
    });
    const missing = await get(`/api/backup/download/${gone.id}`);
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'BACKUP_FILE_MISSING']);

    const outside = join(dirname(ctx.backupDir), 'secret.json');
    await writeFile(outside, '{"secret":true}');
    for (const key of ['../secret.json', '..%2Fsecret.json', '/etc/passwd', 'sub/../../secret.json']) {
      const evil = await record({ storage: { local: { key, path: outside } } });
      const res = await get(`/api/backup/download/${evil.id}`);
      expect([key, res.statusCode]).toEqual([key, 404]);
      expect(res.body).not.toContain('secret');
    }
  });

  it('redirects a cloud-only copy to an expiring signed URL', async () => {
    const r = await record({
      location: 'cloud',
      storage: {
        cloud: { key: 'backup_c.json.gz', publicId: 'backups/backup_c.json.gz', assetId: 'a1', url: 'https://x' },
      },
    });
    const res = await get(`/api/backup/download/${r.id}`);
    expect(res.statusCode).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(location.pathname).toContain('/raw/download');
    expect(location.searchParams.get('public_id')).toBe('backups/backup_c.json.gz');
    const expiresAt = Number(location.searchParams.get('expires_at'));
    expect(expiresAt - Date.now() / 1000).toBeGreaterThan(ctx.deps.config.CLOUDINARY_URL_TTL_SECONDS - 60);
    expect(expiresAt - Date.now() / 1000).toBeLessThanOrEqual(ctx.deps.config.CLOUDINARY_URL_TTL_SECONDS + 1);
  });

  it('deletes the file then the record; twice → 404; in progress → 409', async () => {
    const r = await storedBackup(Buffer.from('{}'), `backup_${randomUUID()}.json`);
    const path = join(ctx.backupDir, r.filename);
    const del = await app.inject({ method: 'DELETE', url: `/api/backup/${r.id}`, headers });
    expect(del.statusCode).toBe(200);
    expect(existsSync(path)).toBe(false);
    expect(await ctx.deps.prisma.backupRecord.count({ where: { id: r.id } })).toBe(0);
    const again = await app.inject({ method: 'DELETE', url: `/api/backup/${r.id}`, headers });
    expect([again.statusCode, again.json().error.code]).toEqual([404, 'BACKUP_NOT_FOUND']);

    const running = await record({ status: 'running' });
    const busy = await app.inject({ method: 'DELETE', url: `/api/backup/${running.id}`, headers });
    expect([busy.statusCode, busy.json().error.code]).toEqual([409, 'BACKUP_IN_PROGRESS']);

    const alreadyGone = await record({
      status: 'failed',
      storage: { local: { key: 'backup_never.json', path: '/x' } },
    });
    expect((await app.inject({ method: 'DELETE', url: `/api/backup/${alreadyGone.id}`, headers })).statusCode).toBe(
      200,
    );
  });
});

describe('backup delete without Cloudinary', () => {
  let ctx: ApiTestContext;
  it('keeps the record, with the reason, when the cloud copy cannot be deleted', async () => {
    ctx = await createApiTestContext();
    const app = await buildApp(ctx.deps);
    try {
      const { headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
      const r = await ctx.deps.prisma.backupRecord.create({
        data: {
          filename: 'c.json',
          type: 'manual',
          location: 'cloud',
          status: 'completed',
          storage: { cloud: { key: 'c.json', publicId: 'backups/c.json' } },
        },
      });
      const res = await app.inject({ method: 'DELETE', url: `/api/backup/${r.id}`, headers });
      expect([res.statusCode, res.json().error.code]).toEqual([502, 'STORAGE_ERROR']);
      const kept = await ctx.deps.prisma.backupRecord.findUniqueOrThrow({ where: { id: r.id } });
      expect(kept.error).toContain('cloud');
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
