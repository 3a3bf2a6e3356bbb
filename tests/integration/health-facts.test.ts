// loadHealthFacts against a real PostgreSQL (verification as JSON on the record, drills as `drill` operations),
// then evaluateHealth on what it read, as the health endpoint will.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_LIMITS, evaluateHealth, loadHealthFacts, readRecordStorage } from '@mp/core';
import type { Prisma, PrismaClient } from '@mp/db';
import { createTestDatabase, type TestDatabase } from '@mp/testing';

const TZ = 'Africa/Lagos';
let db: TestDatabase;
let prisma: PrismaClient;

const local = (id: string) => ({ local: { key: `${id}.json.gz`, path: `/backups/${id}.json.gz` } });
const both = (id: string) => ({
  ...local(id),
  cloud: { key: `${id}.json.gz`, publicId: `mp/${id}`, assetId: 'a', url: 'https://x' },
});

async function record(data: Partial<Prisma.BackupRecordCreateInput> & { id: string; createdAt: Date }): Promise<void> {
  await prisma.backupRecord.create({
    data: { filename: `${data.id}.json.gz`, type: 'manual', location: 'local', ...data },
  });
}

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 2 });
  prisma = db.prisma;
});

afterAll(async () => {
  await db?.drop();
});

describe('loadHealthFacts', () => {
  it('reads an empty installation: default schedule, nothing stored, no drill yet', async () => {
    const facts = await loadHealthFacts({ prisma }, { timezone: TZ });
    expect(facts).toMatchObject({
      schedule: { frequency: 'daily', timezone: TZ, drillFrequency: 'weekly' },
      newestCompleted: null,
      previousCompleted: null,
      lastScheduled: null,
      latestReadBack: null,
      totalStoredBytes: 0,
      drills: { last: null, lastSucceededAt: null },
    });
    const report = evaluateHealth(facts, DEFAULT_HEALTH_LIMITS, new Date());
    expect(report.healthy).toBe(false);
    expect(report.checks.find((c) => c.name === 'backup_age')?.message).toBe('No completed backup exists');
  });

  it(
    'finds the newest completed backups, the last scheduled run, the latest read-back and the stored ' + 'bytes',
    async () => {
      const day = (d: number, h = 1) => new Date(Date.UTC(2026, 5, d, h, 0, 0));
      await prisma.backupSchedule.update({ where: { id: 'default' }, data: { updatedAt: day(1) } });
      await record({
        id: 'old',
        status: 'completed',
        createdAt: day(7),
        completedAt: day(7),
        fileSize: 1000n,
        storage: both('old'),
      });
      await record({
        id: 'prev',
        type: 'scheduled',
        status: 'completed',
        createdAt: day(8),
        completedAt: day(8),
        fileSize: 900n,
        storage: local('prev'),
        verification: {
          ok: true,
          checkedAt: day(8, 2).toISOString(),
          copy: 'local',
          checksumOk: true,
          counts: {},
          problems: [],
        },
      });
      await record({
        id: 'new',
        type: 'scheduled',
        status: 'completed',
        createdAt: day(9),
        completedAt: day(9, 2),
        fileSize: 400n,
        storage: local('new'),
        verification: {
          ok: false,
          checkedAt: day(9, 3).toISOString(),
          copy: 'local',
          checksumOk: false,
          counts: {},
          problems: ['a', 'b'],
        },
      });
      await record({ id: 'part', status: 'partial', createdAt: day(9, 4), fileSize: 50n, storage: local('part') });
      await record({ id: 'fail', type: 'scheduled', status: 'failed', createdAt: day(10), error: 'disk full' });
      await record({ id: 'queued', status: 'queued', createdAt: day(10, 5) });

      const drills = { last: null, lastSucceededAt: null };
      const facts = await loadHealthFacts({ prisma }, { timezone: TZ, drills });
      expect(facts).toEqual({
        schedule: { frequency: 'daily', timezone: TZ, changedAt: day(1), drillFrequency: 'weekly' },
        newestCompleted: { id: 'new', completedAt: day(9, 2), fileSize: 400 },
        previousCompleted: { id: 'prev', fileSize: 900 },
        lastScheduled: { id: 'fail', status: 'failed', createdAt: day(10) },
        latestReadBack: { backupId: 'new', ok: false, checkedAt: day(9, 3), problems: 2 },
        // old twice (local and cloud), prev, new and the partial one once each.
        totalStoredBytes: 2 * 1000 + 900 + 400 + 50,
        drills,
      });

      const report = evaluateHealth(facts, DEFAULT_HEALTH_LIMITS, day(10, 12));
      expect(report.healthy).toBe(false);
      expect(Object.fromEntries(report.checks.map((c) => [c.name, c.ok]))).toEqual({
        backup_age: false,
        scheduled_run: false,
        drill: false,
        backup_size: false,
        storage_total: true,
        read_back: false,
      });
      expect(report.checks.find((c) => c.name === 'scheduled_run')?.message).toBe(
        'The last scheduled backup (fail, 2026-06-10T01:00:00.000Z) failed',
      );
    },
  );

  it('sums the stored bytes in SQL over exactly the copies readRecordStorage reads', async () => {
    await prisma.backupRecord.deleteMany();
    const shapes: Prisma.InputJsonValue[] = [
      local('l'),
      both('b'),
      { cloud: { key: 'c.json.gz' } },
      { local: { key: 'k.json.gz' } },
      { local: { key: 'k.json.gz', path: 7 } },
      { local: 'x', cloud: { key: 5 } },
      { local: [], cloud: null },
      ['local', 'cloud'],
      'local',
      {},
    ];
    let expected = 0;
    for (const [i, storage] of shapes.entries()) {
      const fileSize = 1000 * 2 ** i;
      const copies = readRecordStorage(storage);
      expected += fileSize * ((copies.local ? 1 : 0) + (copies.cloud ? 1 : 0));
      await record({ id: `s${i}`, status: i % 2 ? 'partial' : 'completed', createdAt: new Date(), fileSize, storage });
    }
    // Neither a failed record nor one without a size holds bytes.
    await record({ id: 'failed', status: 'failed', createdAt: new Date(), fileSize: 1n, storage: local('f') });
    await record({ id: 'nosize', status: 'completed', createdAt: new Date(), storage: local('n') });
    expect(expected).toBe(1000 + 2 * 2000 + 4000);
    expect((await loadHealthFacts({ prisma }, { timezone: TZ })).totalStoredBytes).toBe(expected);
  });

  it('counts an unreadable verification report as a failed read-back', async () => {
    const at = new Date(Date.UTC(2026, 5, 11));
    await record({
      id: 'odd',
      status: 'completed',
      createdAt: at,
      completedAt: at,
      fileSize: 10n,
      verification: { verdict: 'fine' },
    });
    const facts = await loadHealthFacts({ prisma }, { timezone: TZ });
    expect(facts.latestReadBack).toEqual({ backupId: 'odd', ok: false, checkedAt: null, problems: 1 });
  });

  it('reads the read-back of the newest completed-or-partial backup only, counting its failed copies', async () => {
    const at = new Date(Date.UTC(2026, 5, 12));
    await record({
      id: 'part2',
      status: 'partial',
      createdAt: at,
      completedAt: at,
      fileSize: 10n,
      verification: {
        ok: false,
        checkedAt: at.toISOString(),
        trigger: 'read-back',
        copies: [
          { copy: 'local', ok: true },
          { copy: 'cloud', ok: false },
        ],
        warnings: [],
      },
    });
    // A newer failed backup's report is not the newest stored backup's read-back.
    await record({
      id: 'failed2',
      status: 'failed',
      createdAt: new Date(at.getTime() + 60_000),
      verification: { ok: false, copies: [] },
    });
    const facts = await loadHealthFacts({ prisma }, { timezone: TZ });
    expect(facts.latestReadBack).toEqual({ backupId: 'part2', ok: false, checkedAt: at, problems: 1 });
  });

  it(
    'reads drills: the newest finished one (failed, or completed with ok false, counts as failed) and the last ' +
      'success',
    async () => {
      const at = (h: number) => new Date(Date.UTC(2026, 5, 13, h));
      const drill = (id: string, status: 'completed' | 'failed' | 'running', h: number, result: object | null) =>
        prisma.operation.create({
          data: {
            id,
            kind: 'drill',
            status,
            createdAt: at(h),
            completedAt: status === 'running' ? null : at(h),
            ...(result ? { result } : {}),
          },
        });
      const ids = Array.from({ length: 4 }, () => randomUUID());
      await drill(ids[0]!, 'completed', 1, { ok: true, rtoSeconds: 12 });
      await drill(ids[1]!, 'completed', 2, { ok: false, rtoSeconds: 15 });
      let facts = await loadHealthFacts({ prisma }, { timezone: TZ });
      expect(facts.drills).toEqual({ last: { id: ids[1], status: 'failed', at: at(2) }, lastSucceededAt: at(1) });

      await drill(ids[2]!, 'failed', 3, null);
      await drill(ids[3]!, 'running', 4, null);
      facts = await loadHealthFacts({ prisma }, { timezone: TZ });
      // A running drill is no verdict yet: the newest finished one is.
      expect(facts.drills).toEqual({ last: { id: ids[2], status: 'failed', at: at(3) }, lastSucceededAt: at(1) });
    },
  );
});
