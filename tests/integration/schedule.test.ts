import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AppError,
  createScheduledBackupRecord,
  getBackupSchedule,
  nextRunsOf,
  NO_ENCRYPTION,
  resyncSchedulers,
  syncBackupScheduler,
  updateBackupSchedule,
  type ScheduleSettings,
} from '@mp/core';
import { parseConfig, workerEnvSchema } from '@mp/config';
import type { PrismaClient } from '@mp/db';
import {
  BACKUP_SCHEDULER_ID,
  DRILL_SCHEDULER_ID,
  JOBS,
  PRUNE_SCHEDULER_ID,
  QUEUES,
  createProducer,
  type Producer,
} from '@mp/jobs';
import { createLogger } from '@mp/logger';
import type { BackupStorage } from '@mp/storage';
import { createTestDatabase, createUserAndLogin, type ApiTestContext, type TestDatabase } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';
import type { buildApp } from '../../services/api/src/app.js';
import type { WorkerDeps } from '../../services/worker/src/deps.js';
import { handlers } from '../../services/worker/src/handlers/index.js';
import { startWorkers } from '../../services/worker/src/start-workers.js';

const REDIS_URL = process.env.REDIS_URL!;
const logger = createLogger({ level: 'silent' });
// Schedules never touch storage; a stand-in that refuses every call proves it.
const unusedStorage: BackupStorage = {
  kind: 'local',
  put: () => Promise.reject(new Error('unused')),
  open: () => Promise.reject(new Error('unused')),
  delete: () => Promise.reject(new Error('unused')),
  list: () => Promise.reject(new Error('unused')),
};
const LOCAL_ONLY = { local: unusedStorage, cloud: null };

let db: TestDatabase;
let prisma: PrismaClient;
let redis: Redis;
let prefix: string;
let producer: Producer;
let extraQueues: Queue[];

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  prisma = db.prisma;
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis?.disconnect();
  await db?.drop();
});

beforeEach(async () => {
  prefix = `t-sched-${randomBytes(4).toString('hex')}`;
  producer = createProducer({ redisUrl: REDIS_URL, prefix });
  extraQueues = [];
  await prisma.backupRecord.deleteMany();
  await prisma.backupSchedule.deleteMany();
});

afterEach(async () => {
  await producer.queue(QUEUES.backup).obliterate({ force: true });
  await Promise.all(extraQueues.map((q) => q.close()));
  await producer.close();
});

const backupQueue = () => producer.queue(QUEUES.backup);
const deps = () => ({ prisma, producer, storage: LOCAL_ONLY, logger });
const settings = (over: Partial<ScheduleSettings> = {}): ScheduleSettings => ({
  frequency: 'daily',
  location: 'local',
  retentionDays: 30,
  includeAuditLogs: false,
  includeSessions: false,
  compression: 'gzip',
  drillFrequency: 'weekly',
  keepDaily: null,
  keepWeekly: null,
  keepMonthly: null,
  keepYearly: null,
  maxTotalSizeMb: null,
  ...over,
});
const secondReplicaQueue = () => {
  const q = new Queue(QUEUES.backup, { connection: new Redis(REDIS_URL) as unknown as ConnectionOptions, prefix });
  extraQueues.push(q);
  return q;
};
/** Delayed jobs of the queue: the scheduler keeps exactly one pending. */
const delayedCount = () => backupQueue().getDelayedCount();

describe('schedule settings', () => {
  it('starts with the defaults, stores updates, and follows them with the job scheduler', async () => {
    const fresh = await getBackupSchedule(deps(), { timezone: 'UTC' });
    expect(fresh).toMatchObject({
      frequency: 'daily',
      location: 'local',
      retentionDays: 30,
      includeAuditLogs: false,
      includeSessions: false,
      timezone: 'UTC',
      lastBackupAt: null,
    });
    expect(await prisma.backupSchedule.count()).toBe(1);

    // The worker re-asserts the stored settings at start-up: the daily run appears.
    await resyncSchedulers({ prisma }, backupQueue(), { timezone: 'UTC' });
    const afterStart = await getBackupSchedule(deps(), { timezone: 'UTC' });
    const expectedDaily = nextRunsOf('daily', 'UTC', new Date(), 1)[0]!;
    expect(afterStart.nextBackupAt).toBe(expectedDaily.toISOString());

    const updated = await updateBackupSchedule(
      deps(),
      settings({ frequency: 'weekly', retentionDays: 14, includeAuditLogs: true }),
      { timezone: 'UTC', actor: 'admin-1' },
    );
    expect(updated).toMatchObject({
      frequency: 'weekly',
      retentionDays: 14,
      includeAuditLogs: true,
      updatedBy: 'admin-1',
    });
    expect(updated.nextBackupAt).toBe(nextRunsOf('weekly', 'UTC', new Date(), 1)[0]!.toISOString());
    expect(await getBackupSchedule(deps(), { timezone: 'UTC' })).toEqual(updated);
    const scheduler = await backupQueue().getJobScheduler(BACKUP_SCHEDULER_ID);
    expect(scheduler).toMatchObject({ pattern: '0 2 * * 0', tz: 'UTC', name: 'backup.scheduled' });
    expect(scheduler?.template?.opts).toMatchObject({ attempts: JOBS['backup.scheduled'].options.attempts });
    expect(await backupQueue().getJobScheduler(PRUNE_SCHEDULER_ID)).toMatchObject({ pattern: '0 3 * * *', tz: 'UTC' });

    const finishedAt = new Date('2026-01-02T03:04:05.000Z');
    await prisma.backupRecord.create({
      data: { filename: 'a.json', type: 'manual', status: 'completed', location: 'local', completedAt: finishedAt },
    });
    await prisma.backupRecord.create({
      data: { filename: 'b.json', type: 'manual', status: 'failed', location: 'local' },
    });
    expect((await getBackupSchedule(deps(), { timezone: 'UTC' })).lastBackupAt).toBe(finishedAt.toISOString());

    const disabled = await updateBackupSchedule(deps(), settings({ frequency: 'disabled' }), { timezone: 'UTC' });
    expect(disabled.frequency).toBe('disabled');
    expect(disabled.nextBackupAt).toBeNull();
    expect(await backupQueue().getJobScheduler(BACKUP_SCHEDULER_ID)).toBeUndefined();
    // Only the prune's and the drill's pending runs are left.
    expect(await delayedCount()).toBe(2);
  });

  it('refuses a cloud location when cloud storage is not configured, changing nothing', async () => {
    for (const location of ['cloud', 'both'] as const) {
      const err = await updateBackupSchedule(deps(), settings({ location, frequency: 'monthly' }), {
        timezone: 'UTC',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CLOUD_STORAGE_NOT_CONFIGURED');
    }
    expect((await getBackupSchedule(deps(), { timezone: 'UTC' })).frequency).toBe('daily');
    expect(await backupQueue().getJobScheduler(BACKUP_SCHEDULER_ID)).toBeUndefined();

    const cloud = { ...LOCAL_ONLY, cloud: { ...unusedStorage, kind: 'cloud' as const } };
    const both = await updateBackupSchedule({ ...deps(), storage: cloud }, settings({ location: 'both' }), {
      timezone: 'UTC',
    });
    expect(both.location).toBe('both');
  });

  it('keeps the database unchanged when Redis cannot take the scheduler', async () => {
    const offline = createProducer({ redisUrl: 'redis://127.0.0.1:1', prefix });
    try {
      const err = await updateBackupSchedule({ ...deps(), producer: offline }, settings({ frequency: 'monthly' }), {
        timezone: 'UTC',
      }).catch((e: unknown) => e);
      expect((err as AppError).code).toBe('QUEUE_UNAVAILABLE');
      const read = await getBackupSchedule({ ...deps(), producer: offline }, { timezone: 'UTC' }).catch(
        (e: unknown) => e,
      );
      expect((read as AppError).code).toBe('QUEUE_UNAVAILABLE');
    } finally {
      await offline.close();
    }
    expect((await prisma.backupSchedule.findUnique({ where: { id: 'default' } }))?.frequency ?? 'daily').toBe('daily');
  });
});

describe('job scheduler', () => {
  it.each([
    ['daily', 'UTC'],
    ['weekly', 'UTC'],
    ['monthly', 'UTC'],
    ['daily', 'Africa/Lagos'],
    ['weekly', 'Africa/Lagos'],
    ['monthly', 'America/New_York'],
  ] as const)('schedules %s runs at 02:00 in %s', async (frequency, timezone) => {
    const next = await syncBackupScheduler(backupQueue(), { frequency }, { timezone });
    const scheduler = await backupQueue().getJobScheduler(BACKUP_SCHEDULER_ID);
    expect(scheduler?.tz).toBe(timezone);
    expect(next?.getTime()).toBe(scheduler?.next);
    expect(next?.toISOString()).toBe(nextRunsOf(frequency, timezone, new Date(), 1)[0]!.toISOString());
    const localHour = new Intl.DateTimeFormat('en', {
      timeZone: timezone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next!);
    expect(localHour).toBe('02:00');
  });

  it('stays one scheduler when synced again, from two replicas at once, and after a change', async () => {
    const other = secondReplicaQueue();
    await syncBackupScheduler(backupQueue(), { frequency: 'daily' }, { timezone: 'UTC' });
    await syncBackupScheduler(backupQueue(), { frequency: 'daily' }, { timezone: 'UTC' });
    await Promise.all([
      syncBackupScheduler(backupQueue(), { frequency: 'daily' }, { timezone: 'UTC' }),
      syncBackupScheduler(other, { frequency: 'daily' }, { timezone: 'UTC' }),
      resyncSchedulers({ prisma }, other, { timezone: 'UTC' }),
    ]);
    expect(await backupQueue().getJobSchedulersCount()).toBe(3); // backup + prune + drill
    expect(await delayedCount()).toBe(3);

    await syncBackupScheduler(other, { frequency: 'weekly' }, { timezone: 'Africa/Lagos' });
    const schedulers = await backupQueue().getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual(
      [BACKUP_SCHEDULER_ID, DRILL_SCHEDULER_ID, PRUNE_SCHEDULER_ID].sort(),
    );
    expect(await delayedCount()).toBe(3);
    expect((await backupQueue().getJobScheduler(BACKUP_SCHEDULER_ID))?.pattern).toBe('0 2 * * 0');
  });

  it('is restored from the stored settings after Redis lost it', async () => {
    await updateBackupSchedule(deps(), settings({ frequency: 'monthly' }), { timezone: 'Africa/Lagos' });
    // Lose everything of this queue (a flush of the shared Redis would hit other tests).
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    expect(await backupQueue().getJobScheduler(BACKUP_SCHEDULER_ID)).toBeUndefined();
    expect((await getBackupSchedule(deps(), { timezone: 'Africa/Lagos' })).nextBackupAt).toBeNull();

    const result = await resyncSchedulers({ prisma }, backupQueue(), { timezone: 'Africa/Lagos' });
    expect(result.settings.frequency).toBe('monthly');
    const view = await getBackupSchedule(deps(), { timezone: 'Africa/Lagos' });
    expect(view.nextBackupAt).toBe(nextRunsOf('monthly', 'Africa/Lagos', new Date(), 1)[0]!.toISOString());
    expect(await backupQueue().getJobScheduler(PRUNE_SCHEDULER_ID)).toBeDefined();
  });

  it('fires scheduled jobs that create scheduled backup records', async () => {
    await updateBackupSchedule(deps(), settings({ frequency: 'daily', includeSessions: true, retentionDays: 7 }), {
      timezone: 'UTC',
      pattern: '* * * * * *',
    });
    // The worker service's own start-up code (the only place that constructs BullMQ Workers), with the
    // scheduled handler narrowed to the record creation this test is about.
    const seen: string[] = [];
    const config = parseConfig(workerEnvSchema, {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      UPLOAD_DIR: tmpdir(),
    });
    const workerDeps: WorkerDeps = {
      config,
      logger,
      prisma,
      pool: db.pool,
      producer,
      storage: LOCAL_ONLY,
      encryption: NO_ENCRYPTION,
    };
    const started = startWorkers(workerDeps, {
      ...handlers,
      'backup.scheduled': async (job, deps) => {
        const record = await createScheduledBackupRecord(deps, { jobId: job.id! });
        seen.push(job.id!);
        return record.id;
      },
    });
    try {
      const deadline = Date.now() + 10_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await syncBackupScheduler(backupQueue(), { frequency: 'disabled' }, { timezone: 'UTC' });
      await started.close();
    }
    expect(seen.length).toBeGreaterThan(0);
    const jobId = seen[0]!;
    expect(jobId.startsWith(`repeat:${BACKUP_SCHEDULER_ID}:`)).toBe(true);
    const record = await prisma.backupRecord.findUniqueOrThrow({ where: { jobId } });
    expect(record).toMatchObject({
      type: 'scheduled',
      status: 'queued',
      location: 'local',
      createdBy: 'scheduler',
      options: { includeAuditLogs: false, includeSessions: true, compression: 'gzip' },
    });
    expect(record.filename).toMatch(/^backup_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z_[0-9a-f]{8}\.json$/);

    // A retry of the same job reuses its record, also when attempts race.
    const again = await Promise.all([
      createScheduledBackupRecord({ prisma, storage: LOCAL_ONLY, logger }, { jobId }),
      createScheduledBackupRecord({ prisma, storage: LOCAL_ONLY, logger }, { jobId }),
    ]);
    expect(again.map((r) => r.id)).toEqual([record.id, record.id]);
    expect(await prisma.backupRecord.count({ where: { jobId } })).toBe(1);
  });

  it('falls back to local when the schedule wants the cloud but it is gone', async () => {
    await prisma.backupSchedule.create({ data: { id: 'default', location: 'both' } });
    const record = await createScheduledBackupRecord({ prisma, storage: LOCAL_ONLY, logger }, { jobId: 'repeat:x:1' });
    expect(record.location).toBe('local');
  });
});

describe('schedule routes', () => {
  let ctx: ApiTestContext;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let headers: Record<string, string>;

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp({ logLevel: 'silent' }));
    headers = (await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN')).headers;
  });

  afterAll(() => stopApiApp(ctx, app));

  const put = (payload: unknown) =>
    app.inject({ method: 'PUT', url: '/api/backup/schedule', headers, payload: payload as object });
  const get = (url: string) => app.inject({ method: 'GET', url, headers });

  it('GET answers the defaults; PUT changes them and the scheduler; disabled removes it', async () => {
    const fresh = await get('/api/backup/schedule');
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json().data).toMatchObject({
      frequency: 'daily',
      location: 'local',
      retentionDays: 30,
      includeAuditLogs: false,
      includeSessions: false,
      lastBackupAt: null,
    });

    const weekly = await put({
      frequency: 'weekly',
      location: 'local',
      retentionDays: 90,
      includeAuditLogs: true,
      includeSessions: false,
    });
    expect(weekly.statusCode).toBe(200);
    expect(weekly.json()).toMatchObject({ success: true, message: 'Backup schedule updated' });
    const expected = nextRunsOf('weekly', 'UTC', new Date(), 1)[0]!.toISOString();
    expect(weekly.json().data).toMatchObject({
      frequency: 'weekly',
      retentionDays: 90,
      includeAuditLogs: true,
      nextBackupAt: expected,
    });
    expect((await get('/api/backup/schedule')).json().data).toEqual(weekly.json().data);

    // Fields left out keep their value.
    const partial = await put({ retentionDays: 7 });
    expect(partial.json().data).toMatchObject({ frequency: 'weekly', retentionDays: 7, includeAuditLogs: true });

    const disabled = await put({ frequency: 'disabled' });
    expect(disabled.json().data).toMatchObject({ frequency: 'disabled', nextBackupAt: null });
    expect(await ctx.deps.producer.queue(QUEUES.backup).getJobScheduler(BACKUP_SCHEDULER_ID)).toBeUndefined();
  });

  it('refuses unknown fields, bad values and a cloud location without cloud storage', async () => {
    const unknown = await put({ frequency: 'daily', hourly: true });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(JSON.stringify(unknown.json().error.details)).toContain('hourly');
    for (const body of [
      { retentionDays: 0 },
      { retentionDays: 3651 },
      { retentionDays: 1.5 },
      { frequency: 'hourly' },
      { location: 'nas' },
    ]) {
      expect((await put(body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    const cloud = await put({ location: 'both' });
    expect(cloud.statusCode).toBe(400);
    expect(cloud.json().error.code).toBe('CLOUD_STORAGE_NOT_CONFIGURED');
  });

  it('previews the retention prune', async () => {
    const old = await ctx.deps.prisma.backupRecord.create({
      data: {
        filename: 'old.json',
        type: 'pre_restore',
        status: 'failed',
        location: 'local',
        createdAt: new Date(Date.now() - 400 * 86_400_000),
      },
    });
    const res = await get('/api/backup/retention/preview?retentionDays=365');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      retentionDays: 365,
      keptId: null,
      backups: [{ id: old.id, filename: 'old.json', type: 'pre-restore' }],
    });
    expect((await get('/api/backup/retention/preview?retentionDays=0')).statusCode).toBe(400);
    expect((await get('/api/backup/retention/preview?days=3')).statusCode).toBe(400);
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(1);
  });
});
