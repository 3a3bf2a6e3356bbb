import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMISSION_LOCK } from '@mp/core';
import { createProducer } from '@mp/jobs';
import { createCloudinaryStorage } from '@mp/storage';
import { createApiTestContext, createUserAndLogin, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';
import { buildApp } from '../../services/api/src/app.js';

describe('backup create, reset, job status, maintenance', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const post = (url: string, payload?: object) => app.inject({ method: 'POST', url, headers, payload });
  const jobCount = async (queue: 'backup' | 'maintenance') =>
    Object.values(await ctx.deps.producer.queue(queue).getJobCounts()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));
  beforeEach(async () => {
    await resetDatabase(ctx.db.pool);
    for (const q of ['backup', 'maintenance'] as const) await ctx.deps.producer.queue(q).obliterate({ force: true });
    ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
  });

  it(
    'creates: 202, a queued record, and a job whose id is the record id and whose payload is only { backupId ' + '}',
    async () => {
      const res = await post('/api/backup/create', { includeAuditLogs: true });
      expect(res.statusCode).toBe(202);
      const { data } = res.json();
      expect(data).toEqual({
        backupId: expect.any(String),
        jobId: data.backupId,
        filename: expect.stringMatching(/^backup_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z_[0-9a-f]{8}\.json$/),
        status: 'queued',
        statusUrl: `/api/backup/jobs/${data.backupId}`,
      });
      const record = await ctx.deps.prisma.backupRecord.findUniqueOrThrow({ where: { id: data.backupId } });
      expect(record).toMatchObject({
        status: 'queued',
        type: 'manual',
        location: 'local',
        jobId: record.id,
        filename: data.filename,
      });
      expect(record.options).toEqual({ includeAuditLogs: true, includeSessions: false, compression: 'gzip' });
      expect(record.createdBy).toMatch(/^admin_/);
      const job = await ctx.deps.producer.queue('backup').getJob(record.id);
      expect(job?.name).toBe('backup.create');
      expect(job?.id).toBe(record.id);
      expect(job?.data).toEqual({ backupId: record.id });
    },
  );

  it('accepts an empty body (all defaults)', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/backup/create', headers });
    expect(res.statusCode).toBe(202);
  });

  it('rejects bad bodies with every bad field listed, writing nothing', async () => {
    const res = await post('/api/backup/create', { includeAuditLogs: 'yes', location: 'mars', extra: 1 });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('VALIDATION_ERROR');
    const paths = error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.includeAuditLogs', 'body.location', 'body.extra']));
    for (const payload of [{ includeSessions: 1 }, { location: 'LOCAL' }, { unknown: true }]) {
      expect((await post('/api/backup/create', payload)).statusCode).toBe(400);
    }
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(0);
    expect(await jobCount('backup')).toBe(0);
  });

  it('refuses cloud locations without Cloudinary: 400, nothing written or enqueued', async () => {
    for (const location of ['cloud', 'both']) {
      const res = await post('/api/backup/create', { location });
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'CLOUD_STORAGE_NOT_CONFIGURED']);
    }
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(0);
    expect(await jobCount('backup')).toBe(0);
  });

  it('reset: exact "DELETE" only; a wrong token enqueues nothing', async () => {
    for (const confirmationToken of ['delete', 'DELETE ', 'yes']) {
      const res = await post('/api/backup/reset', { confirmationToken });
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'INVALID_CONFIRMATION_TOKEN']);
    }
    expect((await post('/api/backup/reset', {})).statusCode).toBe(400);
    expect(await ctx.deps.prisma.operation.count()).toBe(0);
    expect(await jobCount('maintenance')).toBe(0);

    const ok = await post('/api/backup/reset', { confirmationToken: 'DELETE' });
    expect(ok.statusCode).toBe(202);
    const { operationId, jobId, statusUrl } = ok.json().data;
    expect(jobId).toBe(operationId);
    expect(statusUrl).toBe(`/api/backup/jobs/${jobId}`);
    const op = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: operationId } });
    expect(op).toMatchObject({ kind: 'reset', status: 'queued', jobId: operationId });
    const job = await ctx.deps.producer.queue('maintenance').getJob(operationId);
    expect([job?.name, job?.data]).toEqual(['backup.reset', { operationId }]);
  });

  it('one restore/reset at a time: 409 for reset, restore and create while one is queued or running', async () => {
    const first = await post('/api/backup/reset', { confirmationToken: 'DELETE' });
    expect(first.statusCode).toBe(202);
    const second = await post('/api/backup/reset', { confirmationToken: 'DELETE' });
    expect([second.statusCode, second.json().error.code]).toEqual([409, 'OPERATION_IN_PROGRESS']);
    await ctx.deps.prisma.operation.updateMany({ data: { status: 'running' } });
    const backup = await ctx.deps.prisma.backupRecord.create({
      data: { filename: 'b.json', type: 'manual', location: 'local', status: 'completed' },
    });
    const restore = await post('/api/backup/restore', { backupId: backup.id });
    expect([restore.statusCode, restore.json().error.code]).toEqual([409, 'OPERATION_IN_PROGRESS']);
    const create = await post('/api/backup/create', {});
    expect([create.statusCode, create.json().error.code]).toEqual([409, 'OPERATION_IN_PROGRESS']);
    expect(await ctx.deps.prisma.operation.count()).toBe(1);
    await ctx.deps.prisma.operation.updateMany({ data: { status: 'completed' } });
    // An undo swaps tables back like a restore: no backup is accepted while one is queued.
    const undo = await ctx.deps.prisma.operation.create({ data: { kind: 'undo', status: 'queued', input: {} } });
    const during = await post('/api/backup/create', {});
    expect([during.statusCode, during.json().error.code]).toEqual([409, 'OPERATION_IN_PROGRESS']);
    await ctx.deps.prisma.operation.update({ where: { id: undo.id }, data: { status: 'completed' } });
    expect((await post('/api/backup/reset', { confirmationToken: 'DELETE' })).statusCode).toBe(202);
  });

  it('admission: a create waits for a restore being admitted and is refused; creates run side by side', async () => {
    const holder = await ctx.db.pool.connect();
    try {
      // A restore's admission in flight: the lock held exclusively, its queued operation not yet committed.
      await holder.query(`BEGIN; SELECT pg_advisory_xact_lock(${ADMISSION_LOCK})`);
      let settled = false;
      const blocked = post('/api/backup/create', {}).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await holder.query(`INSERT INTO operations (id, kind, status, input) VALUES ($1, 'restore', 'queued', '{}')`, [
        randomUUID(),
      ]);
      await holder.query('COMMIT');
      const refused = await blocked;
      expect([refused.statusCode, refused.json().error.code]).toEqual([409, 'OPERATION_IN_PROGRESS']);
      await ctx.deps.prisma.operation.updateMany({ data: { status: 'completed' } });

      // Another create in flight (the lock held shared): this one goes ahead at once.
      await holder.query(`BEGIN; SELECT pg_advisory_xact_lock_shared(${ADMISSION_LOCK})`);
      const timeout = new Promise<'waited'>((r) => setTimeout(() => r('waited'), 5_000));
      const created = await Promise.race([post('/api/backup/create', {}), timeout]);
      expect(created === 'waited' ? 'waited for the other create' : created.statusCode).toBe(202);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
    }
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(1);
  });

  it('maintenance: mutating routes answer 503, reads keep working', async () => {
    const backup = await ctx.deps.prisma.backupRecord.create({
      data: { filename: 'b.json', type: 'manual', location: 'local', status: 'completed' },
    });
    await ctx.deps.prisma.maintenanceState.create({
      data: { id: 'global', active: true, reason: 'restore', jobId: 'job-1', since: new Date() },
    });
    const mutations = [
      post('/api/backup/create', {}),
      post('/api/backup/restore', { backupId: backup.id }),
      post('/api/backup/reset', { confirmationToken: 'DELETE' }),
      app.inject({ method: 'DELETE', url: `/api/backup/${backup.id}`, headers }),
    ];
    for (const res of await Promise.all(mutations)) {
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'MAINTENANCE_ACTIVE']);
    }
    const reads = [
      '/api/backup/list',
      `/api/backup/${backup.id}`,
      `/api/backup/jobs/${backup.id}`,
      '/api/system/status',
    ];
    for (const url of reads) expect((await app.inject({ method: 'GET', url, headers })).statusCode).toBe(200);
    const status = await app.inject({ method: 'GET', url: '/api/system/status', headers });
    expect(status.json().data.maintenance).toMatchObject({ active: true, reason: 'restore', jobId: 'job-1' });
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(1);
    expect(await ctx.deps.prisma.operation.count()).toBe(0);
  });

  it(
    'job status: 404 for unknown, live progress while the job exists, stored state after BullMQ dropped ' + 'it',
    async () => {
      const unknown = await app.inject({ method: 'GET', url: `/api/backup/jobs/${randomUUID()}`, headers });
      expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'JOB_NOT_FOUND']);

      const { jobId } = (await post('/api/backup/create', {})).json().data;
      const job = await ctx.deps.producer.queue('backup').getJob(jobId);
      await job!.updateProgress({ percent: 40, stage: 'exporting', table: 'loans', rows: 1200 });
      const live = (await app.inject({ method: 'GET', url: `/api/backup/jobs/${jobId}`, headers })).json().data;
      expect(live).toMatchObject({
        jobId,
        kind: 'backup.create',
        state: 'queued',
        progress: { percent: 40, stage: 'exporting', table: 'loans', rows: 1200 },
      });

      await job!.remove();
      await ctx.deps.prisma.backupRecord.update({
        where: { id: jobId },
        data: {
          status: 'completed',
          attempts: 1,
          fileSize: 123n,
          checksum: 'ab',
          startedAt: new Date(),
          completedAt: new Date(),
          progress: { percent: 100, stage: 'done' },
        },
      });
      const stored = (await app.inject({ method: 'GET', url: `/api/backup/jobs/${jobId}`, headers })).json().data;
      expect(stored).toMatchObject({
        state: 'completed',
        attempts: 1,
        progress: { percent: 100, stage: 'done' },
        result: { backupId: jobId, fileSize: 123 },
      });

      const { jobId: resetJob } = (await post('/api/backup/reset', { confirmationToken: 'DELETE' })).json().data;
      const op = (await app.inject({ method: 'GET', url: `/api/backup/jobs/${resetJob}`, headers })).json().data;
      expect(op).toMatchObject({ kind: 'backup.reset', state: 'queued' });
    },
  );
});

describe('backup create with Cloudinary configured', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    // No request reaches Cloudinary when a backup is only accepted; the port is never contacted.
    const cloud = createCloudinaryStorage({
      url: 'cloudinary://key:secret@demo?upload_prefix=http%3A%2F%2F127.0.0.1%3A9',
    });
    ({ ctx, app } = await startApiApp({ cloud }));
  });
  afterAll(() => stopApiApp(ctx, app));

  it('accepts location both', async () => {
    const { headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    const res = await app.inject({ method: 'POST', url: '/api/backup/create', headers, payload: { location: 'both' } });
    expect(res.statusCode).toBe(202);
    const record = await ctx.deps.prisma.backupRecord.findUniqueOrThrow({ where: { id: res.json().data.backupId } });
    expect(record.location).toBe('both');
  });
});

describe('backup create while Redis is unreachable', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  const deadProducer = createProducer({ redisUrl: 'redis://127.0.0.1:1', prefix: 'dead', onError: () => {} });
  beforeAll(async () => {
    ctx = await createApiTestContext();
    app = await buildApp({ ...ctx.deps, producer: deadProducer });
  });
  afterAll(async () => {
    await app?.close();
    await deadProducer.close();
    await ctx?.close();
  });

  it('answers 503 QUEUE_UNAVAILABLE quickly and marks the record failed', async () => {
    const { headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    const started = Date.now();
    const res = await app.inject({ method: 'POST', url: '/api/backup/create', headers, payload: {} });
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'QUEUE_UNAVAILABLE']);
    expect(Date.now() - started).toBeLessThan(10_000);
    const [record] = await ctx.deps.prisma.backupRecord.findMany();
    expect(record).toMatchObject({ status: 'failed', error: expect.stringContaining('queue') });
  });
});
