import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pruneBackups } from '@mp/core';
import type { Prisma } from '@mp/db';
import { createUserAndLogin, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';

const DAY = 86_400_000;

describe('labels, pins, GFS retention and encrypted downloads through the API', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  /** A finished record `daysAgo` old with a real local file. */
  async function stored(daysAgo: number, data: Partial<Prisma.BackupRecordUncheckedCreateInput> = {}) {
    const key = `backup_${randomUUID()}.json`;
    await mkdir(ctx.backupDir, { recursive: true });
    await writeFile(join(ctx.backupDir, key), '{"metadata":{},"data":{}}');
    return ctx.deps.prisma.backupRecord.create({
      data: {
        filename: key,
        type: 'manual',
        location: 'local',
        status: 'completed',
        fileSize: 25n,
        storage: { local: { key, path: join(ctx.backupDir, key) } },
        createdAt: new Date(Date.now() - daysAgo * DAY),
        ...data,
      },
    });
  }
  const fileOf = (r: { filename: string }) => join(ctx.backupDir, r.filename);

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));
  beforeEach(async () => {
    await resetDatabase(ctx.db.pool);
    ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
  });

  it(
    'stores labels given on create, shows them and filters the list by them; bad labels are a 400 with nothing ' +
      'written',
    async () => {
      const created = await call('POST', '/api/backup/create', {
        labels: { reason: 'pre-migration', ticket: 'OPS-12' },
      });
      expect(created.statusCode).toBe(202);
      const id = created.json().data.backupId as string;
      expect((await ctx.deps.prisma.backupRecord.findUniqueOrThrow({ where: { id } })).labels).toEqual({
        reason: 'pre-migration',
        ticket: 'OPS-12',
      });
      await stored(1, { labels: { reason: 'audit' } });
      await stored(2);

      const ids = async (query: string) =>
        (await call('GET', `/api/backup/list?${query}`)).json().data.items.map((i: { id: string }) => i.id);
      expect(await ids('label=reason:pre-migration')).toEqual([id]);
      expect(await ids('label=reason')).toHaveLength(2);
      expect(await ids('label=ticket:OPS-12')).toEqual([id]);
      expect(await ids('label=reason:nothing')).toEqual([]);
      const listed = (await call('GET', '/api/backup/list')).json().data.items.find((i: { id: string }) => i.id === id);
      expect(listed).toMatchObject({
        labels: { reason: 'pre-migration', ticket: 'OPS-12' },
        pinned: false,
        pinNote: null,
        encryptionKeyId: null,
      });
      expect((await call('GET', '/api/backup/list?label=bad%20key:x')).statusCode).toBe(400);

      const count = await ctx.deps.prisma.backupRecord.count();
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      for (const labels of [
        tooMany,
        { 'a:b': 'v' },
        { reason: 5 },
        { reason: 'x'.repeat(201) },
        { ['k'.repeat(41)]: 'v' },
        { reason: 'a\u0000b' },
        ['reason'],
      ]) {
        const res = await call('POST', '/api/backup/create', { labels });
        expect(res.statusCode, JSON.stringify(labels).slice(0, 60)).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_ERROR');
        expect(JSON.stringify(res.json().error.details)).toContain('labels');
      }
      expect(await ctx.deps.prisma.backupRecord.count()).toBe(count);
    },
  );

  it('pins and unpins with a note; the list shows and filters pinned backups', async () => {
    const r = await stored(3);
    const pinned = await call('POST', `/api/backup/${r.id}/pin`, { note: 'before the 2026 migration' });
    expect(pinned.statusCode).toBe(200);
    expect(pinned.json().data).toMatchObject({
      id: r.id,
      pinned: true,
      pinNote: 'before the 2026 migration',
      pinnedBy: expect.any(String),
    });
    const other = await stored(4);
    expect(
      (await call('GET', '/api/backup/list?pinned=true')).json().data.items.map((i: { id: string }) => i.id),
    ).toEqual([r.id]);
    expect((await call('GET', `/api/backup/${r.id}`)).json().data).toMatchObject({
      pinned: true,
      pinNote: 'before the 2026 migration',
    });

    const unpinned = await call('POST', `/api/backup/${r.id}/unpin`);
    expect(unpinned.json().data).toMatchObject({ pinned: false, pinNote: null, pinnedAt: null });
    expect((await call('GET', '/api/backup/list?pinned=true')).json().data.items).toEqual([]);

    expect((await call('POST', `/api/backup/${randomUUID()}/pin`, { note: 'x' })).json().error.code).toBe(
      'BACKUP_NOT_FOUND',
    );
    const failed = await stored(5, { status: 'failed' });
    const refused = await call('POST', `/api/backup/${failed.id}/pin`, {});
    expect([refused.statusCode, refused.json().error.code]).toEqual([409, 'BACKUP_NOT_READY']);
    expect((await call('POST', `/api/backup/${other.id}/pin`, { note: 'n'.repeat(501) })).statusCode).toBe(400);
    expect((await ctx.deps.prisma.backupRecord.findUniqueOrThrow({ where: { id: other.id } })).pinned).toBe(false);
  });

  it('takes the GFS rules on the schedule (null = unused) and refuses counts it cannot apply', async () => {
    const put = await call('PUT', '/api/backup/schedule', {
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      keepYearly: 0,
      maxTotalSizeMb: 500,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().data).toMatchObject({
      retentionDays: 30,
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      keepYearly: 0,
      maxTotalSizeMb: 500,
    });
    const cleared = await call('PUT', '/api/backup/schedule', { keepWeekly: null, maxTotalSizeMb: null });
    expect(cleared.json().data).toMatchObject({
      keepDaily: 7,
      keepWeekly: null,
      keepMonthly: 12,
      maxTotalSizeMb: null,
    });
    for (const bad of [{ keepDaily: -1 }, { keepMonthly: 1.5 }, { keepYearly: '3' }, { maxTotalSizeMb: 0 }]) {
      const res = await call('PUT', '/api/backup/schedule', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await call('GET', '/api/backup/schedule')).json().data).toMatchObject({
      keepDaily: 7,
      keepWeekly: null,
      keepMonthly: 12,
    });
  });

  it(
    'previews each backup with keep/delete and its reasons; a prune deletes exactly that and spares pinned, newest ' +
      'and undo-window backups',
    async () => {
      await call('PUT', '/api/backup/schedule', { retentionDays: 5, keepMonthly: 2 });
      // Minutes apart, so both sit in the current month (keepMonthly's first bucket) and within 5 days.
      const newest = await stored(1 / 1440);
      const recent = await stored(2 / 1440);
      const sameMonthOld = await stored(40, { createdAt: new Date(Date.UTC(2025, 0, 10)) });
      const monthEnd = await stored(40, { createdAt: new Date(Date.UTC(2025, 0, 20)) });
      const pinned = await stored(41, {
        createdAt: new Date(Date.UTC(2024, 5, 1)),
        pinned: true,
        pinNote: 'audit 2024',
      });
      const safety = await stored(42, { createdAt: new Date(Date.UTC(2024, 4, 1)), type: 'pre_restore' });
      const plainOld = await stored(43, { createdAt: new Date(Date.UTC(2024, 3, 1)) });
      await ctx.deps.prisma.operation.create({
        data: {
          kind: 'restore',
          status: 'completed',
          undoUntil: new Date(Date.now() + DAY),
          result: { safetyBackupId: safety.id },
        },
      });

      const res = await call('GET', '/api/backup/retention/preview');
      expect(res.statusCode).toBe(200);
      const preview = res.json().data;
      expect(preview.rules).toEqual({ keepWithinDays: 5, keepMonthly: 2 });
      const decision = (id: string) => preview.decisions.find((d: { id: string }) => d.id === id);
      expect(decision(newest.id)).toMatchObject({
        action: 'keep',
        reasons: expect.arrayContaining(['newest completed', 'within 5 days']),
      });
      expect(decision(recent.id)).toMatchObject({ action: 'keep', reasons: ['within 5 days'] });
      // keepMonthly 2: this month's newest backup, and January 2025's newest (the 20th, not the 10th).
      expect(decision(newest.id).reasons.some((r: string) => r.startsWith('monthly '))).toBe(true);
      expect(decision(monthEnd.id)).toMatchObject({ action: 'keep', reasons: ['monthly 2025-01'] });
      expect(decision(sameMonthOld.id)).toMatchObject({ action: 'delete', reasons: ['kept by no rule'] });
      expect(decision(pinned.id)).toMatchObject({ action: 'keep', reasons: ['pinned'] });
      expect(decision(safety.id)).toMatchObject({ action: 'keep', reasons: ['undo window'] });
      expect(decision(plainOld.id)).toMatchObject({ action: 'delete' });
      expect(preview.backups.map((b: { id: string }) => b.id)).toEqual([plainOld.id, sameMonthOld.id]);

      const report = await pruneBackups(ctx.deps, { timeZone: 'UTC' });
      expect(report.deleted.map((d) => d.id)).toEqual([plainOld.id, sameMonthOld.id]);
      for (const kept of [newest, recent, monthEnd, pinned, safety])
        expect(existsSync(fileOf(kept)), kept.id).toBe(true);
      expect(existsSync(fileOf(plainOld))).toBe(false);

      // Unpinned, the pinned backup goes at the next prune.
      await call('POST', `/api/backup/${pinned.id}/unpin`);
      expect((await pruneBackups(ctx.deps, { timeZone: 'UTC' })).deleted.map((d) => d.id)).toEqual([pinned.id]);
    },
  );

  it('serves an encrypted backup as stored, as an opaque file', async () => {
    const bytes = Buffer.concat([Buffer.from('MPBE\u0001\u0002k1'), randomBytes(300)]);
    const key = `backup_${randomUUID()}.json.gz.enc`;
    await mkdir(ctx.backupDir, { recursive: true });
    await writeFile(join(ctx.backupDir, key), bytes);
    const r = await stored(1, {
      filename: key,
      compressed: true,
      encryptionKeyId: 'k1',
      fileSize: BigInt(bytes.length),
      storage: { local: { key, path: join(ctx.backupDir, key) } },
    });
    const res = await call('GET', `/api/backup/download/${r.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(String(res.headers['content-disposition'])).toContain('.json.gz.enc"');
    expect(res.rawPayload.equals(bytes)).toBe(true);
  });
});
