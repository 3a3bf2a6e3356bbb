// loadMetricsFacts against a real PostgreSQL and Redis, then the text a scrape of /metrics would get.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { DURATION_BUCKETS, loadMetricsFacts, renderBackupMetrics } from '@mp/core';
import type { Prisma } from '@mp/db';
import { createProducer, QUEUES, type Producer } from '@mp/jobs';
import { closeProducer, createTestDatabase, type TestDatabase } from '@mp/testing';

let db: TestDatabase;
let producer: Producer;

async function record(data: Partial<Prisma.BackupRecordCreateInput> & { id: string; createdAt: Date }): Promise<void> {
  await db.prisma.backupRecord.create({
    data: { filename: `${data.id}.json.gz`, type: 'manual', location: 'local', ...data },
  });
}

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 2 });
  producer = createProducer({ redisUrl: process.env.REDIS_URL!, prefix: `t${randomBytes(5).toString('hex')}` });
});

afterAll(async () => {
  await closeProducer(producer);
  await db?.drop();
});

describe('loadMetricsFacts', () => {
  it('reads the newest success, durations and failures by kind, and queue depths', async () => {
    const at = (d: number) => new Date(Date.UTC(2026, 5, d, 1));
    await record({
      id: 'a',
      type: 'scheduled',
      status: 'completed',
      createdAt: at(1),
      completedAt: at(1),
      durationMs: 4000,
      fileSize: 10n,
    });
    await record({
      id: 'b',
      type: 'pre_restore',
      status: 'completed',
      createdAt: at(2),
      completedAt: at(2),
      durationMs: 90_000,
      fileSize: 20n,
    });
    await record({ id: 'c', type: 'scheduled', status: 'failed', createdAt: at(3) });
    await record({ id: 'd', type: 'scheduled', status: 'failed', createdAt: at(4) });
    await record({ id: 'e', status: 'running', createdAt: at(5) });
    await producer.queue(QUEUES.backup).add('backup.create', {}, { delay: 3_600_000, jobId: 'later' });

    const facts = await loadMetricsFacts({ prisma: db.prisma, producer }, { healthy: false });
    expect(facts).toMatchObject({
      lastSuccessAt: at(2),
      newestSizeBytes: 20,
      failuresByKind: { scheduled: 2 },
      drillLastRtoSeconds: null,
      queueUp: true,
      healthy: false,
    });
    expect(facts.durations).toEqual(
      expect.arrayContaining([
        { kind: 'scheduled', le: 5, count: 1, sumSeconds: 4 },
        { kind: 'pre-restore', le: 120, count: 1, sumSeconds: 90 },
      ]),
    );
    expect(facts.queueJobs).toContainEqual({ queue: 'backup', state: 'delayed', count: 1 });
    expect(facts.queueJobs).toContainEqual({ queue: 'maintenance', state: 'waiting', count: 0 });

    const { body } = await renderBackupMetrics(facts);
    expect(body).toContain('mp_queue_jobs{queue="backup",state="delayed"} 1');
    expect(body).toContain('mp_backup_failures_total{kind="scheduled"} 2');
    expect(body).toContain('mp_backup_duration_seconds_count{kind="pre-restore"} 1');
    expect(body).toContain('mp_backup_healthy 0');
  });

  it('counts the durations per bucket in SQL as a histogram of each would: a bound is in its bucket', async () => {
    await db.prisma.backupRecord.deleteMany();
    const at = new Date(Date.UTC(2026, 6, 1));
    const durationsMs = [5_000, 5_001, 14_999, 15_000, 999, 7_200_001, 0];
    for (const [i, durationMs] of durationsMs.entries())
      await record({ id: `d${i}`, status: 'completed', createdAt: at, completedAt: at, durationMs });
    await record({ id: 'untimed', status: 'completed', createdAt: at, completedAt: at });
    await record({ id: 'failed', status: 'failed', createdAt: at, durationMs: 3_000 });

    const facts = await loadMetricsFacts({ prisma: db.prisma, producer }, { healthy: true });
    expect([...facts.durations].sort((a, b) => a.le - b.le)).toEqual([
      { kind: 'manual', le: 1, count: 2, sumSeconds: 0.999 },
      { kind: 'manual', le: 5, count: 1, sumSeconds: 5 },
      { kind: 'manual', le: 15, count: 3, sumSeconds: 35 },
      { kind: 'manual', le: Number.POSITIVE_INFINITY, count: 1, sumSeconds: 7_200.001 },
    ]);
    // The histogram as it would be with every duration observed on its own: cumulative, a bound in its bucket.
    // (The parser keeps a labelled histogram's buckets only: its sum and count are read as text.)
    const { body } = await renderBackupMetrics(facts);
    const family = parsePrometheusTextFormat(body).find((f) => f.name === 'mp_backup_duration_seconds');
    const cumulative = Object.fromEntries(
      [...DURATION_BUCKETS, Number.POSITIVE_INFINITY].map((le) => [
        le === Number.POSITIVE_INFINITY ? '+Inf' : String(le),
        String(durationsMs.filter((ms) => ms / 1000 <= le).length),
      ]),
    );
    expect(family?.metrics).toEqual([{ buckets: cumulative }]);
    expect(body).toContain(`mp_backup_duration_seconds_count{kind="manual"} ${durationsMs.length}\n`);
    const sum = /mp_backup_duration_seconds_sum\{kind="manual"\} (\S+)/.exec(body)?.[1];
    expect(Number(sum)).toBeCloseTo(durationsMs.reduce((a, b) => a + b, 0) / 1000, 6);
  });

  it('reads the recovery time of the newest successful drill', async () => {
    const at = (h: number) => new Date(Date.UTC(2026, 5, 6, h));
    const drill = (status: 'completed' | 'failed', h: number, result: object) =>
      db.prisma.operation.create({ data: { kind: 'drill', status, createdAt: at(h), completedAt: at(h), result } });
    await drill('completed', 1, { ok: true, rtoSeconds: 42.5, rowsPerSecond: 1000 });
    await drill('completed', 2, { ok: false, rtoSeconds: 7 });
    await drill('failed', 3, { ok: false, rtoSeconds: 3 });
    const facts = await loadMetricsFacts({ prisma: db.prisma, producer }, { healthy: true });
    expect(facts.drillLastRtoSeconds).toBe(42.5);
    const { body } = await renderBackupMetrics(facts);
    const rto = parsePrometheusTextFormat(body).find((f) => f.name === 'mp_restore_drill_last_rto_seconds');
    expect(rto?.metrics[0]?.value).toBe('42.5');
  });

  it('answers without the queue series when Redis does not answer, marking mp_queue_up 0', async () => {
    // Nothing listens on port 1: every queue command fails or never gets a connection.
    const dead = createProducer({ redisUrl: 'redis://127.0.0.1:1', prefix: 'dead' });
    try {
      const facts = await loadMetricsFacts({ prisma: db.prisma, producer: dead }, { healthy: false });
      expect(facts.queueUp).toBe(false);
      expect(facts.queueJobs).toEqual([]);
      const families = parsePrometheusTextFormat((await renderBackupMetrics(facts)).body);
      expect(families.find((f) => f.name === 'mp_queue_up')?.metrics[0]?.value).toBe('0');
      expect(families.find((f) => f.name === 'mp_queue_jobs')?.metrics ?? []).toEqual([]);
      expect(families.find((f) => f.name === 'mp_backup_last_success_timestamp_seconds')?.metrics[0]?.value).not.toBe(
        '0',
      );
    } finally {
      await dead.close();
    }
  });
});
