// GET /api/backup/health, /healthz/backups and /metrics through the real app (real PostgreSQL and Redis): health
// turns unhealthy for each reason and healthy again, on rows crafted in backup_records, operations and
// backup_schedules; the unauthenticated answer carries no details; /metrics parses as Prometheus text.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma, PrismaClient } from '@mp/db';
import { createUserAndLogin, recordSecret, type ApiTestContext } from '@mp/testing';
import { buildApp } from '../../services/api/src/app.js';
import { startApiApp, stopApiApp } from './api-harness.js';

const HOUR = 3_600_000;
let ctx: ApiTestContext;
let app: FastifyInstance;
let prisma: PrismaClient;
let headers: Record<string, string>;
let adminName: string;
const now = Date.now();
const ids = { newest: randomUUID(), prev: randomUUID(), drill: randomUUID() };

async function record(id: string, data: Partial<Prisma.BackupRecordCreateInput>): Promise<void> {
  const filename = `backup_${id}.json`;
  await prisma.backupRecord.create({
    data: {
      id,
      filename,
      type: 'manual',
      location: 'local',
      status: 'completed',
      storage: { local: { key: filename, path: `/b/${filename}` } },
      ...data,
    },
  });
}

interface Health {
  healthy: boolean;
  checks: { name: string; ok: boolean; message: string; value: number | null; limit: number | null }[];
}

async function health(): Promise<Health> {
  const res = await app.inject({ method: 'GET', url: '/api/backup/health', headers });
  expect(res.statusCode).toBe(200);
  return (JSON.parse(res.body) as { data: Health }).data;
}

/** The admin route names exactly `failing`; the open one answers 503 with nothing but the status. */
async function expectUnhealthy(failing: string[]): Promise<Health> {
  const report = await health();
  expect(report.healthy).toBe(false);
  expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(failing);
  const open = await app.inject({ method: 'GET', url: '/healthz/backups' });
  expect(open.statusCode).toBe(503);
  expect(JSON.parse(open.body)).toEqual({ status: 'unhealthy' });
  return report;
}

async function expectHealthy(): Promise<void> {
  const report = await health();
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.healthy).toBe(true);
  const open = await app.inject({ method: 'GET', url: '/healthz/backups' });
  expect(open.statusCode).toBe(200);
  expect(JSON.parse(open.body)).toEqual({ status: 'ok' });
}

async function scrape(
  target = app,
  auth?: string,
): Promise<{ status: number; families: ParsedFamily[]; body: string }> {
  const res = await target.inject({ method: 'GET', url: '/metrics', headers: auth ? { authorization: auth } : {} });
  return {
    status: res.statusCode,
    body: res.body,
    families: res.statusCode === 200 ? parsePrometheusTextFormat(res.body) : [],
  };
}

const family = (families: ParsedFamily[], name: string) => families.find((f) => f.name === name);

beforeAll(async () => {
  ({ ctx, app } = await startApiApp({ env: { BACKUP_HEALTH_MAX_TOTAL_MB: '1' } }));
  prisma = ctx.deps.prisma;
  const admin = await createUserAndLogin(app, prisma, 'ADMIN');
  headers = admin.headers;
  adminName = admin.user.username;
  // A daily schedule set just now (no run was due since), drills weekly (the defaults).
  await prisma.backupSchedule.upsert({
    where: { id: 'default' },
    create: { id: 'default', updatedAt: new Date(now) },
    update: { updatedAt: new Date(now) },
  });
  await record(ids.prev, {
    createdAt: new Date(now - 25 * HOUR),
    completedAt: new Date(now - 25 * HOUR),
    fileSize: 1000n,
    durationMs: 3000,
  });
  await record(ids.newest, {
    createdAt: new Date(now - HOUR),
    completedAt: new Date(now - HOUR),
    fileSize: 1000n,
    durationMs: 4000,
    verification: {
      ok: true,
      checkedAt: new Date(now - HOUR).toISOString(),
      trigger: 'read-back',
      copies: [{ copy: 'local', ok: true }],
      warnings: [],
    },
  });
  await prisma.operation.create({
    data: {
      id: ids.drill,
      kind: 'drill',
      status: 'completed',
      completedAt: new Date(now - HOUR),
      backupId: ids.newest,
      result: { backupId: ids.newest, ok: true, rtoSeconds: 12.5, rowsPerSecond: 800 },
    },
  });
});

afterAll(() => stopApiApp(ctx, app));

describe('backup health', () => {
  it('is healthy with a fresh backup, a recent successful drill and a good read-back', async () => {
    await expectHealthy();
    const report = await health();
    expect(report.checks.map((c) => c.name)).toEqual([
      'backup_age',
      'scheduled_run',
      'drill',
      'backup_size',
      'storage_total',
      'read_back',
    ]);
    expect(report.checks.find((c) => c.name === 'backup_age')).toMatchObject({ limit: 26 * 3600 });
    expect(report.checks.find((c) => c.name === 'storage_total')).toMatchObject({ value: 2000, limit: 1_000_000 });
    expect(report.checks.find((c) => c.name === 'drill')).toMatchObject({ limit: 8 * 24 * 3600 });
  });

  it(
    'turns unhealthy when the newest completed backup is older than the daily maximum, and healthy ' + 'again',
    async () => {
      await prisma.backupRecord.update({ where: { id: ids.newest }, data: { completedAt: new Date(now - 27 * HOUR) } });
      await prisma.backupRecord.update({ where: { id: ids.prev }, data: { completedAt: new Date(now - 50 * HOUR) } });
      const report = await expectUnhealthy(['backup_age']);
      expect(report.checks[0]?.message).toContain(ids.newest);
      await prisma.backupRecord.update({ where: { id: ids.newest }, data: { completedAt: new Date(now - HOUR) } });
      await prisma.backupRecord.update({ where: { id: ids.prev }, data: { completedAt: new Date(now - 25 * HOUR) } });
      await expectHealthy();
    },
  );

  it('turns unhealthy when the last scheduled run failed, and when a due run did not fire', async () => {
    const failedId = randomUUID();
    await record(failedId, {
      type: 'scheduled',
      status: 'failed',
      createdAt: new Date(now),
      storage: {},
      error: 'disk full',
    });
    await expectUnhealthy(['scheduled_run']);
    await prisma.backupRecord.delete({ where: { id: failedId } });
    await expectHealthy();

    // The schedule has been daily for three days and no scheduled backup exists: the last 02:00 run was missed.
    await prisma.backupSchedule.update({ where: { id: 'default' }, data: { updatedAt: new Date(now - 72 * HOUR) } });
    const report = await expectUnhealthy(['scheduled_run']);
    expect(report.checks[1]?.message).toMatch(/^The scheduled backup due at .* did not run$/);
    await prisma.backupSchedule.update({ where: { id: 'default' }, data: { updatedAt: new Date(now) } });
    await expectHealthy();
  });

  it('turns unhealthy when the last drill failed or none succeeded within its period, and healthy again', async () => {
    const failed = await prisma.operation.create({
      data: { kind: 'drill', status: 'failed', completedAt: new Date(now), error: 'restore failed' },
    });
    await expectUnhealthy(['drill']);
    await prisma.operation.create({
      data: {
        kind: 'drill',
        status: 'completed',
        completedAt: new Date(now + 1000),
        result: { ok: true, rtoSeconds: 10 },
      },
    });
    await expectHealthy();
    await prisma.operation.deleteMany({ where: { kind: 'drill', id: { not: ids.drill } } });
    expect(failed.id).not.toBe(ids.drill);

    await prisma.operation.update({ where: { id: ids.drill }, data: { completedAt: new Date(now - 9 * 24 * HOUR) } });
    await expectUnhealthy(['drill']);
    // A monthly drill schedule allows it; a disabled one does not check drills at all.
    await prisma.backupSchedule.update({
      where: { id: 'default' },
      data: { drillFrequency: 'monthly', updatedAt: new Date(now) },
    });
    await expectHealthy();
    await prisma.backupSchedule.update({
      where: { id: 'default' },
      data: { drillFrequency: 'weekly', updatedAt: new Date(now) },
    });
    await prisma.operation.update({ where: { id: ids.drill }, data: { completedAt: new Date(now - HOUR) } });
    await expectHealthy();
  });

  it('turns unhealthy when the newest backup is under half the previous one or empty, and healthy again', async () => {
    await prisma.backupRecord.update({ where: { id: ids.newest }, data: { fileSize: 400n } });
    await expectUnhealthy(['backup_size']);
    await prisma.backupRecord.update({ where: { id: ids.newest }, data: { fileSize: 0n } });
    const report = await expectUnhealthy(['backup_size']);
    expect(report.checks[3]?.message).toContain('is empty');
    await prisma.backupRecord.update({ where: { id: ids.newest }, data: { fileSize: 1000n } });
    await expectHealthy();
  });

  it('turns unhealthy when stored backups exceed the configured total, and healthy again', async () => {
    const bigId = randomUUID();
    await record(bigId, {
      createdAt: new Date(now - 48 * HOUR),
      completedAt: new Date(now - 48 * HOUR),
      fileSize: 1_500_000n,
    });
    const report = await expectUnhealthy(['storage_total']);
    expect(report.checks[4]).toMatchObject({ value: 1_502_000, limit: 1_000_000 });
    await prisma.backupRecord.delete({ where: { id: bigId } });
    await expectHealthy();
  });

  it('turns unhealthy when the read-back of the newest backup failed, and healthy again', async () => {
    const good = (await prisma.backupRecord.findUniqueOrThrow({ where: { id: ids.newest } }))
      .verification as Prisma.InputJsonValue;
    await prisma.backupRecord.update({
      where: { id: ids.newest },
      data: {
        verification: {
          ok: false,
          checkedAt: new Date(now).toISOString(),
          trigger: 'read-back',
          copies: [{ copy: 'local', ok: false }],
          warnings: [],
        },
      },
    });
    await expectUnhealthy(['read_back']);
    await prisma.backupRecord.update({ where: { id: ids.newest }, data: { verification: good } });
    await expectHealthy();
  });
});

describe('/metrics', () => {
  it(
    'parses as Prometheus text with the backup, drill, queue, health and HTTP families, and no personal ' + 'data',
    async () => {
      const { status, families, body } = await scrape();
      expect(status).toBe(200);
      const value = (name: string) => family(families, name)?.metrics[0]?.value;
      expect(Number(value('mp_backup_last_success_timestamp_seconds'))).toBeCloseTo((now - HOUR) / 1000, 2);
      expect(value('mp_backup_size_bytes')).toBe('1000');
      expect(value('mp_restore_drill_last_rto_seconds')).toBe('12.5');
      expect(value('mp_backup_healthy')).toBe('1');
      expect(value('mp_queue_up')).toBe('1');
      const durations = family(families, 'mp_backup_duration_seconds');
      expect(durations?.type).toBe('HISTOGRAM');
      // The parser keeps a labelled histogram's buckets only (not its labels, sum and count): those lines are read as
      // text.
      expect(durations?.metrics).toEqual([{ buckets: expect.objectContaining({ '1': '0', '5': '2', '+Inf': '2' }) }]);
      expect(body).toContain('mp_backup_duration_seconds_count{kind="manual"} 2\n');
      expect(body).toContain('mp_backup_duration_seconds_sum{kind="manual"} 7\n');
      expect(family(families, 'mp_backup_failures_total')?.type).toBe('COUNTER');
      expect(family(families, 'mp_backup_failures_total')?.metrics).toContainEqual({
        labels: { kind: 'scheduled' },
        value: '0',
      });
      expect(family(families, 'mp_queue_jobs')?.metrics).toContainEqual({
        labels: { queue: 'backup', state: 'waiting' },
        value: '0',
      });
      expect(family(families, 'http_requests_total')?.metrics).toContainEqual(
        expect.objectContaining({ labels: { method: 'GET', route: '/api/backup/health', status: '200' } }),
      );
      expect(family(families, 'process_resident_memory_bytes')?.type).toBe('GAUGE');
      expect(body).not.toContain(adminName);

      // Unhealthy shows as 0.
      await prisma.backupRecord.update({ where: { id: ids.newest }, data: { fileSize: 1n } });
      expect(family((await scrape()).families, 'mp_backup_healthy')?.metrics[0]?.value).toBe('0');
      await prisma.backupRecord.update({ where: { id: ids.newest }, data: { fileSize: 1000n } });
    },
  );

  it('wants the bearer token when METRICS_TOKEN is set', async () => {
    const token = randomUUID();
    recordSecret('METRICS_TOKEN', token);
    const guarded = await buildApp({ ...ctx.deps, config: { ...ctx.deps.config, METRICS_TOKEN: token } });
    try {
      const none = await scrape(guarded);
      expect(none.status).toBe(401);
      expect(JSON.parse(none.body)).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
      expect((await scrape(guarded, `Bearer ${token}x`)).status).toBe(401);
      const ok = await scrape(guarded, `Bearer ${token}`);
      expect(ok.status).toBe(200);
      expect(family(ok.families, 'mp_backup_healthy')?.metrics[0]?.value).toBe('1');
    } finally {
      await guarded.close();
    }
  });
});
