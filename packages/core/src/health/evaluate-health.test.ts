import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEALTH_LIMITS,
  evaluateHealth,
  type HealthCheckName,
  type HealthFacts,
  type HealthLimits,
} from './evaluate-health.js';

const H = 3600_000;
const D = 24 * H;
// Lagos has no daylight saving: the daily run is due at 01:00 UTC.
const NOW = new Date('2026-06-10T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

function facts(over: Partial<HealthFacts> = {}): HealthFacts {
  return {
    schedule: { frequency: 'daily', timezone: 'Africa/Lagos', changedAt: ago(100 * D) },
    newestCompleted: { id: 'b-new', completedAt: new Date('2026-06-10T01:05:00Z'), fileSize: 1000 },
    previousCompleted: { id: 'b-old', fileSize: 1000 },
    lastScheduled: { id: 'b-new', status: 'completed', createdAt: new Date('2026-06-10T01:00:02Z') },
    latestReadBack: { backupId: 'b-new', ok: true, checkedAt: new Date('2026-06-10T01:06:00Z'), problems: 0 },
    totalStoredBytes: 2000,
    drills: { last: { id: 'd-1', status: 'completed', at: ago(3 * D) }, lastSucceededAt: ago(3 * D) },
    ...over,
  };
}

function check(name: HealthCheckName, f: HealthFacts, limits: Partial<HealthLimits> = {}, now = NOW) {
  const report = evaluateHealth(f, { ...DEFAULT_HEALTH_LIMITS, ...limits }, now);
  const found = report.checks.find((c) => c.name === name)!;
  expect(report.healthy).toBe(report.checks.every((c) => c.ok));
  return found;
}

const newest = (completedAt: Date, fileSize: number | null = 1000) => ({
  newestCompleted: { id: 'b-new', completedAt, fileSize },
});

describe('evaluateHealth', () => {
  it('is healthy with fresh, verified, drilled backups, and lists the six checks', () => {
    const report = evaluateHealth(facts(), DEFAULT_HEALTH_LIMITS, NOW);
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['backup_age', true],
      ['scheduled_run', true],
      ['drill', true],
      ['backup_size', true],
      ['storage_total', true],
      ['read_back', true],
    ]);
    expect(report.healthy).toBe(true);
    for (const c of report.checks) expect(Object.keys(c)).toEqual(['name', 'ok', 'message', 'value', 'limit']);
  });

  describe('backup_age', () => {
    it('follows the frequency: 26 h daily, 8 days weekly, 32 days monthly', () => {
      expect(check('backup_age', facts(newest(ago(25 * H)))).ok).toBe(true);
      const old = check('backup_age', facts(newest(ago(27 * H))));
      expect(old).toMatchObject({ ok: false, value: 27 * 3600, limit: 26 * 3600 });
      expect(old.message).toBe(
        'The newest completed backup (b-new) is 27 h old, over the maximum for a daily schedule of 26 h',
      );
      const weekly = (age: number) =>
        facts({
          ...newest(ago(age)),
          schedule: { frequency: 'weekly', timezone: 'Africa/Lagos', changedAt: ago(NOW.getTime()) },
        });
      expect(check('backup_age', weekly(7.9 * D)).ok).toBe(true);
      expect(check('backup_age', weekly(8.1 * D)).ok).toBe(false);
      const monthly = (age: number) =>
        facts({
          ...newest(ago(age)),
          schedule: { frequency: 'monthly', timezone: 'Africa/Lagos', changedAt: ago(NOW.getTime()) },
        });
      expect(check('backup_age', monthly(31 * D)).ok).toBe(true);
      expect(check('backup_age', monthly(33 * D)).ok).toBe(false);
    });

    it('takes configured maxima', () => {
      const limits = { maxAgeSeconds: { ...DEFAULT_HEALTH_LIMITS.maxAgeSeconds, daily: 12 * 3600 } };
      expect(check('backup_age', facts(newest(ago(11 * H))), limits).ok).toBe(true);
      expect(check('backup_age', facts(newest(ago(13 * H))), limits).ok).toBe(false);
    });

    it('is red without any completed backup', () => {
      expect(check('backup_age', facts({ newestCompleted: null }))).toMatchObject({
        ok: false,
        message: 'No completed backup exists',
      });
    });

    it('without a schedule: not checked, unless a maximum age is configured', () => {
      const disabled = facts({
        ...newest(ago(40 * D)),
        schedule: { frequency: 'disabled', timezone: 'Africa/Lagos', changedAt: ago(D) },
      });
      expect(check('backup_age', disabled)).toMatchObject({ ok: true, limit: null });
      expect(check('backup_age', disabled).message).toContain('not checked');
      expect(check('backup_age', disabled, { maxAgeWithoutScheduleSeconds: 41 * 86400 }).ok).toBe(true);
      expect(check('backup_age', disabled, { maxAgeWithoutScheduleSeconds: 39 * 86400 }).ok).toBe(false);
    });
  });

  describe('scheduled_run', () => {
    const yesterday = { id: 'b-y', status: 'completed' as const, createdAt: new Date('2026-06-09T01:00:03Z') };

    it('is red when the run due today did not fire, once the grace has passed', () => {
      const missed = check('scheduled_run', facts({ lastScheduled: yesterday }));
      expect(missed).toMatchObject({ ok: false, value: 11 * 3600, limit: 3600 });
      expect(missed.message).toBe('The scheduled backup due at 2026-06-10T01:00:00.000Z did not run');
      expect(check('scheduled_run', facts({ lastScheduled: yesterday }), {}, new Date('2026-06-10T01:50:00Z')).ok).toBe(
        true,
      );
      expect(check('scheduled_run', facts({ lastScheduled: yesterday }), {}, new Date('2026-06-10T02:01:00Z')).ok).toBe(
        false,
      );
      expect(check('scheduled_run', facts({ lastScheduled: null })).ok).toBe(false);
    });

    it('reads the due instant in the schedule time zone', () => {
      // 02:00 in New York (summer time) is 06:00 UTC: a record at 01:05 UTC is the previous day's run.
      const ny = { frequency: 'daily' as const, timezone: 'America/New_York', changedAt: ago(100 * D) };
      expect(check('scheduled_run', facts({ schedule: ny })).ok).toBe(false);
      const ran = { id: 'b', status: 'completed' as const, createdAt: new Date('2026-06-10T06:00:01Z') };
      expect(check('scheduled_run', facts({ schedule: ny, lastScheduled: ran })).ok).toBe(true);
    });

    it('expects nothing due before the schedule was set, and nothing when disabled', () => {
      const fresh = { frequency: 'daily' as const, timezone: 'Africa/Lagos', changedAt: ago(2 * H) };
      expect(check('scheduled_run', facts({ schedule: fresh, lastScheduled: null }))).toMatchObject({ ok: true });
      const off = { frequency: 'disabled' as const, timezone: 'Africa/Lagos', changedAt: ago(100 * D) };
      expect(check('scheduled_run', facts({ schedule: off, lastScheduled: null }))).toMatchObject({
        ok: true,
        message: 'No backup schedule',
      });
    });

    it('is red when the last scheduled run failed or is partial, green while it runs', () => {
      const last = (status: 'failed' | 'partial' | 'running') =>
        facts({ lastScheduled: { id: 'b-s', status, createdAt: new Date('2026-06-10T01:00:02Z') } });
      expect(check('scheduled_run', last('failed'))).toMatchObject({
        ok: false,
        message: 'The last scheduled backup (b-s, 2026-06-10T01:00:02.000Z) failed',
      });
      expect(check('scheduled_run', last('partial')).ok).toBe(false);
      expect(check('scheduled_run', last('running')).ok).toBe(true);
    });
  });

  describe('drill', () => {
    it('is red when the last drill failed, none succeeded, or the last success is older than the period', () => {
      const failed = facts({
        drills: { last: { id: 'd-2', status: 'failed', at: ago(D) }, lastSucceededAt: ago(3 * D) },
      });
      expect(check('drill', failed)).toMatchObject({
        ok: false,
        message: 'The last restore drill (d-2, 2026-06-09T12:00:00.000Z) failed',
      });
      expect(check('drill', facts({ drills: { last: null, lastSucceededAt: null } })).ok).toBe(false);
      const stale = facts({
        drills: { last: { id: 'd-1', status: 'completed', at: ago(9 * D) }, lastSucceededAt: ago(9 * D) },
      });
      expect(check('drill', stale)).toMatchObject({ ok: false, value: 9 * 86400, limit: 8 * 86400 });
      expect(check('drill', stale, { drillPeriodSeconds: 10 * 86400 }).ok).toBe(true);
      expect(check('drill', facts()).ok).toBe(true);
    });

    it('passes, saying so, when drills are not recorded or not scheduled', () => {
      expect(check('drill', facts({ drills: undefined }))).toMatchObject({
        ok: true,
        message: 'Restore drills are not recorded: not checked',
      });
      expect(
        check('drill', facts({ drills: { last: null, lastSucceededAt: null } }), { drillPeriodSeconds: null }).ok,
      ).toBe(true);
    });
  });

  describe('backup_size', () => {
    it('is red under half the previous size, or empty', () => {
      const at = new Date('2026-06-10T01:05:00Z');
      expect(check('backup_size', facts(newest(at, 500)))).toMatchObject({ ok: true, value: 500, limit: 500 });
      const small = check('backup_size', facts(newest(at, 499)));
      expect(small).toMatchObject({ ok: false, value: 499, limit: 500 });
      expect(small.message).toBe(
        'The newest completed backup (b-new) is 499 B, under 50 % of the previous one (1.0 KB)',
      );
      expect(check('backup_size', facts(newest(at, 0))).ok).toBe(false);
      expect(check('backup_size', facts(newest(at, null))).ok).toBe(false);
      expect(check('backup_size', facts({ ...newest(at, 10), previousCompleted: null })).ok).toBe(true);
      expect(check('backup_size', facts(newest(at, 700)), { minSizeRatio: 0.8 }).ok).toBe(false);
    });
  });

  describe('storage_total', () => {
    it('is red over the configured limit, and unchecked without one', () => {
      expect(check('storage_total', facts(), { maxTotalBytes: 2000 }).ok).toBe(true);
      expect(check('storage_total', facts(), { maxTotalBytes: 1999 })).toMatchObject({
        ok: false,
        value: 2000,
        limit: 1999,
        message: 'Stored backups take 2.0 KB, over the limit of 2.0 KB',
      });
      expect(check('storage_total', facts({ totalStoredBytes: 10 ** 15 })).ok).toBe(true);
    });
  });

  describe('read_back', () => {
    it('is red when the latest read-back failed', () => {
      const failed = facts({ latestReadBack: { backupId: 'b-new', ok: false, checkedAt: NOW, problems: 2 } });
      expect(check('read_back', failed)).toMatchObject({
        ok: false,
        value: 2,
        message: 'Reading back backup b-new failed (2 problem(s))',
      });
      expect(evaluateHealth(failed, DEFAULT_HEALTH_LIMITS, NOW).healthy).toBe(false);
      expect(check('read_back', facts({ latestReadBack: null })).ok).toBe(true);
    });
  });
});
