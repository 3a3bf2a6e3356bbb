import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import {
  planRetention,
  type RetentionBackup,
  type RetentionInput,
  type RetentionPlan,
  type RetentionRules,
} from './gfs.js';

const MB = 1024 * 1024;
const DAY = 86_400_000;

const backup = (id: string, at: string, extra: Partial<RetentionBackup> = {}): RetentionBackup => ({
  id,
  createdAt: new Date(at),
  status: 'completed',
  sizeBytes: MB,
  ...extra,
});

const kept = (plan: RetentionPlan) => plan.decisions.filter((d) => d.action === 'keep').map((d) => d.id);
const reasonsOf = (plan: RetentionPlan, id: string) => plan.decisions.find((d) => d.id === id)!.reasons;

describe('planRetention: hand examples', () => {
  it("restic's documentation: one backup every Sunday for 12 weeks, keepDaily 4 keeps the last four Sundays", () => {
    const sundays = [
      '09-01',
      '09-08',
      '09-15',
      '09-22',
      '09-29',
      '10-06',
      '10-13',
      '10-20',
      '10-27',
      '11-03',
      '11-10',
      '11-17',
    ];
    const backups = sundays.map((d) => backup(d, `2019-${d}T11:00:00Z`));
    const plan = planRetention({
      backups,
      rules: { keepDaily: 4 },
      now: new Date('2019-11-18T00:00:00Z'),
      timeZone: 'UTC',
    });
    expect(kept(plan)).toEqual(['11-17', '11-10', '11-03', '10-27']);
    expect(reasonsOf(plan, '10-27')).toEqual(['daily 2019-10-27']);
    expect(reasonsOf(plan, '11-17')).toEqual(['newest completed', 'daily 2019-11-17']);
    expect(reasonsOf(plan, '10-20')).toEqual(['kept by no rule']);
  });

  it("restic's documentation: a backup every day, keepDaily 7, keepWeekly 5, keepMonthly 12, keepYearly 3", () => {
    const backups: RetentionBackup[] = [];
    for (let t = Date.UTC(2024, 0, 1, 2); t <= Date.UTC(2026, 10, 30, 2); t += DAY) {
      backups.push(backup(new Date(t).toISOString().slice(0, 10), new Date(t).toISOString()));
    }
    const rules = { keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 3 };
    const plan = planRetention({ backups, rules, now: new Date('2026-11-30T12:00:00Z'), timeZone: 'UTC' });
    // 7 dailies; weeks W49 and W48 are already among them, so 3 more Sundays; 11 more month ends
    // (November is a daily); 2026 and 2025 are already kept, so one more year end.
    expect(kept(plan)).toEqual([
      ...['30', '29', '28', '27', '26', '25', '24', '22', '15', '08'].map((d) => `2026-11-${d}`),
      ...['10-31', '09-30', '08-31', '07-31', '06-30', '05-31', '04-30', '03-31', '02-28', '01-31'].map(
        (d) => `2026-${d}`,
      ),
      '2025-12-31',
      '2024-12-31',
    ]);
    expect(reasonsOf(plan, '2026-11-29')).toEqual(['daily 2026-11-29', 'weekly 2026-W48']);
    expect(reasonsOf(plan, '2026-11-30')).toEqual([
      'newest completed',
      'daily 2026-11-30',
      'weekly 2026-W49',
      'monthly 2026-11',
      'yearly 2026',
    ]);
    expect(reasonsOf(plan, '2025-12-31')).toEqual(['monthly 2025-12', 'yearly 2025']);
    expect(reasonsOf(plan, '2024-12-31')).toEqual(['yearly 2024']);
    expect(kept(plan)).not.toContain('2024-01-01');
  });

  it('keeps the oldest backup too when a rule has count left (restic 0.17)', () => {
    const backups = ['2026-11-25', '2026-11-03', '2026-10-20', '2026-10-05'].map((d) => backup(d, `${d}T02:00:00Z`));
    const plan = planRetention({
      backups,
      rules: { keepMonthly: 12 },
      now: new Date('2026-11-30T00:00:00Z'),
      timeZone: 'UTC',
    });
    expect(kept(plan)).toEqual(['2026-11-25', '2026-10-20', '2026-10-05']);
    expect(reasonsOf(plan, '2026-10-05')).toEqual(['oldest monthly 2026-10']);
  });

  it('buckets are calendar days in the schedule time zone', () => {
    const backups = [
      backup('late', '2026-11-30T23:30:00Z'),
      backup('evening', '2026-11-30T20:00:00Z'),
      backup('before', '2026-11-29T12:00:00Z'),
    ];
    const at = (timeZone: string) =>
      planRetention({ backups, rules: { keepDaily: 2 }, now: new Date('2026-12-01T06:00:00Z'), timeZone });
    expect(kept(at('UTC'))).toEqual(['late', 'before']);
    expect(kept(at('Africa/Lagos'))).toEqual(['late', 'evening']);
    expect(reasonsOf(at('Africa/Lagos'), 'late')).toEqual(['newest completed', 'daily 2026-12-01']);
  });

  it(
    "retentionDays alone keeps today's meaning: everything from now − days, whatever its status, plus the newest " +
      'completed',
    () => {
      const now = new Date('2026-11-30T12:00:00Z');
      const backups = [
        backup('fresh-failed', '2026-11-29T02:00:00Z', { status: 'failed' }),
        backup('cutoff', new Date(now.getTime() - 5 * DAY).toISOString(), { status: 'partial' }),
        backup('just-past', new Date(now.getTime() - 5 * DAY - 1).toISOString()),
        backup('old-running', '2026-10-01T02:00:00Z', { status: 'running' }),
        backup('old-failed', '2026-09-01T02:00:00Z', { status: 'failed' }),
      ];
      const plan = planRetention({ backups, rules: { keepWithinDays: 5 }, now, timeZone: 'UTC' });
      expect(kept(plan)).toEqual(['fresh-failed', 'cutoff', 'just-past', 'old-running']);
      expect(reasonsOf(plan, 'just-past')).toEqual(['newest completed']);
      expect(reasonsOf(plan, 'cutoff')).toEqual(['within 5 days']);
      expect(reasonsOf(plan, 'old-running')).toEqual(['in progress']);
    },
  );

  it('the size cap deletes the oldest unprotected kept backups first, never a protected one', () => {
    const backups = ['05', '04', '03', '02', '01'].map((d) =>
      backup(d, `2026-11-${d}T02:00:00Z`, { sizeBytes: 100 * MB }),
    );
    const protections = new Map([
      ['01', ['pinned']],
      ['03', ['being read', 'undo window']],
    ]);
    const input: RetentionInput = {
      backups,
      rules: { keepDaily: 10, maxTotalSizeMb: 250 },
      protections,
      now: new Date('2026-11-06'),
      timeZone: 'UTC',
    };
    const plan = planRetention(input);
    // 05 (newest), 03 and 01 are protected: 02 goes first, then 04; 300 MB of protected backups remain.
    expect(kept(plan)).toEqual(['05', '03', '01']);
    expect(plan.decisions.find((d) => d.id === '02')).toMatchObject({
      action: 'delete',
      reasons: ['over maxTotalSizeMb 250'],
      overridden: ['daily 2026-11-02'],
    });
    expect(reasonsOf(plan, '01')).toEqual(['pinned', 'daily 2026-11-01']);
    expect(plan).toMatchObject({ keptBytes: 300 * MB, overSizeCap: true });
    const roomy = planRetention({ ...input, rules: { keepDaily: 10, maxTotalSizeMb: 400 } });
    expect(kept(roomy)).toEqual(['05', '04', '03', '01']);
    expect(roomy).toMatchObject({ keptBytes: 400 * MB, overSizeCap: false });
  });

  it('no rule at all keeps everything (as restic refuses an empty policy)', () => {
    const backups = [backup('a', '2026-11-02T00:00:00Z'), backup('b', '2020-01-01T00:00:00Z', { status: 'failed' })];
    expect(
      kept(planRetention({ backups, rules: { keepDaily: 0 }, now: new Date('2026-11-30'), timeZone: 'UTC' })),
    ).toEqual(['a', 'b']);
  });

  it('refuses counts, days, sizes and zones it cannot apply', () => {
    const bad: [RetentionRules, string][] = [
      [{ keepDaily: -1 }, 'UTC'],
      [{ keepWeekly: 1.5 }, 'UTC'],
      [{ keepWithinDays: 0 }, 'UTC'],
      [{ maxTotalSizeMb: 0 }, 'UTC'],
      [{ keepDaily: 1 }, 'Mars/Olympus'],
    ];
    for (const [rules, timeZone] of bad) {
      expect(() => planRetention({ backups: [], rules, now: new Date(), timeZone }), JSON.stringify(rules)).toThrow(
        AppError,
      );
    }
  });
});

// ---- An independent reference: brute force per bucket, its own calendar arithmetic. ----

/** Local calendar date through a differently formatted string ("2026-11-30 14:05:00" in Swedish). */
const swedish = new Map<string, Intl.DateTimeFormat>();
function refLocalDate(at: Date, timeZone: string): [number, number, number] {
  if (!swedish.has(timeZone))
    swedish.set(timeZone, new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'medium' }));
  const text = swedish.get(timeZone)!.format(at);
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  return [y, m, d];
}

/** ISO week by the ordinal-date formula (week = ⌊(ordinal − weekday + 10) / 7⌋), with year carries. */
function refIsoWeek(y: number, m: number, d: number): string {
  const p = (year: number) => (year + Math.floor(year / 4) - Math.floor(year / 100) + Math.floor(year / 400)) % 7;
  const weeksIn = (year: number) => (p(year) === 4 || p(year - 1) === 3 ? 53 : 52);
  const ordinal = Math.round((Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / DAY) + 1;
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay() || 7;
  let week = Math.floor((ordinal - weekday + 10) / 7);
  let year = y;
  if (week < 1) week = weeksIn(--year);
  else if (week > weeksIn(y)) {
    week = 1;
    year++;
  }
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function refBucket(period: string, at: Date, timeZone: string): string {
  const [y, m, d] = refLocalDate(at, timeZone);
  const mm = String(m).padStart(2, '0');
  if (period === 'daily') return `${y}-${mm}-${String(d).padStart(2, '0')}`;
  if (period === 'weekly') return refIsoWeek(y, m, d);
  if (period === 'monthly') return `${y}-${mm}`;
  return String(y);
}

function reference(input: RetentionInput): Map<string, { action: string; reasons: string[]; overridden?: string[] }> {
  const { rules, backups, timeZone } = input;
  const time = (b: RetentionBackup) => b.createdAt.getTime();
  const why = new Map(backups.map((b) => [b.id, [] as string[]]));
  const guarded = new Set<string>();
  const guard = (id: string, reason: string) => {
    why.get(id)!.push(reason);
    guarded.add(id);
  };
  const newestOf = (list: RetentionBackup[]) =>
    list.reduce<RetentionBackup | undefined>((n, b) => (!n || time(b) > time(n) ? b : n), undefined);

  for (const b of backups) if (b.status === 'queued' || b.status === 'running') guard(b.id, 'in progress');
  const newestCompleted = newestOf(backups.filter((b) => b.status === 'completed'));
  const newestPartial = newestOf(backups.filter((b) => b.status === 'partial'));
  if (newestCompleted) guard(newestCompleted.id, 'newest completed');
  else if (newestPartial) guard(newestPartial.id, 'newest partial (none completed)');
  for (const [id, reasons] of input.protections ?? []) for (const r of reasons) guard(id, r);

  const finished = backups.filter((b) => !['queued', 'running'].includes(b.status));
  if (rules.keepWithinDays) {
    for (const b of finished)
      if (time(b) >= input.now.getTime() - rules.keepWithinDays * DAY)
        why.get(b.id)!.push(`within ${rules.keepWithinDays} days`);
  }
  const completed = backups.filter((b) => b.status === 'completed');
  const counts: Record<string, number | undefined> = {
    daily: rules.keepDaily,
    weekly: rules.keepWeekly,
    monthly: rules.keepMonthly,
    yearly: rules.keepYearly,
  };
  for (const [period, n] of Object.entries(counts)) {
    if (!n) continue;
    const buckets = new Map<string, RetentionBackup[]>();
    for (const b of completed) {
      const key = refBucket(period, b.createdAt, timeZone);
      buckets.set(key, [...(buckets.get(key) ?? []), b]);
    }
    const newestFirst = [...buckets.entries()].sort((a, b) => time(newestOf(b[1])!) - time(newestOf(a[1])!));
    for (const [key, members] of newestFirst.slice(0, n)) why.get(newestOf(members)!.id)!.push(`${period} ${key}`);
    if (completed.length > 0 && buckets.size < n) {
      const oldest = completed.reduce((o, b) => (time(b) < time(o) ? b : o));
      const key = refBucket(period, oldest.createdAt, timeZone);
      if (newestOf(buckets.get(key)!) !== oldest) why.get(oldest.id)!.push(`oldest ${period} ${key}`);
    }
  }
  const anyRule = rules.keepWithinDays || rules.keepDaily || rules.keepWeekly || rules.keepMonthly || rules.keepYearly;
  if (!anyRule) for (const b of finished) why.get(b.id)!.push('no retention rule');

  const out = new Map<string, { action: string; reasons: string[]; overridden?: string[] }>();
  for (const b of backups) {
    const reasons = why.get(b.id)!;
    out.set(b.id, reasons.length ? { action: 'keep', reasons } : { action: 'delete', reasons: ['kept by no rule'] });
  }
  if (rules.maxTotalSizeMb) {
    const keptTotal = () =>
      backups.reduce((s, b) => s + (out.get(b.id)!.action === 'keep' ? (b.sizeBytes ?? 0) : 0), 0);
    const oldestFirst = [...backups].sort((a, b) => time(a) - time(b));
    for (const b of oldestFirst) {
      if (keptTotal() <= rules.maxTotalSizeMb * MB) break;
      const d = out.get(b.id)!;
      if (d.action === 'keep' && !guarded.has(b.id))
        out.set(b.id, {
          action: 'delete',
          reasons: [`over maxTotalSizeMb ${rules.maxTotalSizeMb}`],
          overridden: d.reasons,
        });
    }
  }
  return out;
}

/** mulberry32: a small seeded PRNG, so a failing history can be replayed from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ZONES = [
  'UTC',
  'Africa/Lagos',
  'America/New_York',
  'Europe/Berlin',
  'Pacific/Chatham',
  'Asia/Kolkata',
  'Pacific/Kiritimati',
];
const STATUSES: RetentionBackup['status'][] = [
  'completed',
  'completed',
  'completed',
  'completed',
  'completed',
  'partial',
  'failed',
  'running',
  'queued',
];

function randomInput(seed: number): RetentionInput {
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const maybe = <T>(p: number, value: () => T) => (rand() < p ? value() : undefined);
  const now = new Date(Date.UTC(2026, 11, 31) - int(0, 3 * 365) * DAY + int(0, DAY));
  const span = [2, 15, 100, 1200][int(0, 3)]! * DAY;
  const times = new Set<number>();
  const count = int(0, 45);
  while (times.size < count) {
    // Half the backups land on a few favourite minutes of the day, so buckets fill unevenly and many
    // sit close to local midnight and week/month/year ends.
    const t = now.getTime() - Math.floor(rand() * span);
    times.add(rand() < 0.5 ? t - (t % DAY) + [0, 60_000, DAY - 60_000, 2 * 3_600_000][int(0, 3)]! : t);
  }
  const backups = [...times].map((t, i) => ({
    id: `b${String(i).padStart(2, '0')}`,
    createdAt: new Date(t),
    status: STATUSES[int(0, STATUSES.length - 1)]!,
    sizeBytes: rand() < 0.1 ? null : int(1, 300) * MB,
  }));
  const protections = new Map<string, string[]>();
  for (const b of backups)
    if (rand() < 0.08) protections.set(b.id, [['pinned', 'being read', 'undo window'][int(0, 2)]!]);
  const rules: RetentionRules = {
    keepWithinDays: maybe(0.4, () => int(1, 40)),
    keepDaily: maybe(0.6, () => int(0, 10)),
    keepWeekly: maybe(0.5, () => int(0, 8)),
    keepMonthly: maybe(0.5, () => int(0, 14)),
    keepYearly: maybe(0.4, () => int(0, 4)),
    maxTotalSizeMb: maybe(0.35, () => int(50, 4000)),
  };
  return { backups, rules, protections, now, timeZone: ZONES[int(0, ZONES.length - 1)]! };
}

describe('planRetention: property test against a brute-force reference', () => {
  it('agrees with the reference on 400 random backup histories, and never deletes a protected backup', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const input = randomInput(seed);
      const plan = planRetention(input);
      const expected = reference(input);
      const context = `seed ${seed}, ${input.timeZone}, ${JSON.stringify(input.rules)}`;
      const sorted = (list?: string[]) => list && [...list].sort();
      const actual = plan.decisions.map((d) => ({
        id: d.id,
        action: d.action,
        reasons: sorted(d.reasons),
        overridden: sorted(d.overridden),
      }));
      const wanted = plan.decisions.map(({ id }) => {
        const want = expected.get(id)!;
        return { id, action: want.action, reasons: sorted(want.reasons), overridden: sorted(want.overridden) };
      });
      expect(actual.map((d) => d.id).sort(), context).toEqual([...expected.keys()].sort());
      expect(actual, context).toEqual(wanted);
      const mustStay = new Set([
        ...(input.protections?.keys() ?? []),
        ...input.backups.filter((b) => b.status === 'queued' || b.status === 'running').map((b) => b.id),
      ]);
      const unsafe = plan.decisions.filter((d) => d.action === 'delete' && mustStay.has(d.id));
      expect(unsafe, context).toEqual([]);
      const keptBytes = input.backups.reduce(
        (s, b) => s + (expected.get(b.id)!.action === 'keep' ? (b.sizeBytes ?? 0) : 0),
        0,
      );
      expect(plan.keptBytes, context).toBe(keptBytes);
    }
  });
});

describe('planRetention: properties the schedule relies on', () => {
  it(
    'always keeps the newest completed backup and every pinned one; raising a count or adding a pin never deletes ' +
      'a kept backup',
    () => {
      for (let seed = 1001; seed <= 1300; seed++) {
        const input = randomInput(seed);
        // Without the size cap, more rules can only keep more (restic's rules are a union).
        const rules: RetentionRules = { ...input.rules, maxTotalSizeMb: undefined };
        const plan = planRetention({ ...input, rules });
        const context = `seed ${seed}, ${input.timeZone}, ${JSON.stringify(rules)}`;
        const completed = input.backups.filter((b) => b.status === 'completed');
        const newest = completed.reduce<RetentionBackup | undefined>(
          (n, b) => (!n || b.createdAt > n.createdAt ? b : n),
          undefined,
        );
        if (newest) expect(plan.decisions.find((d) => d.id === newest.id)!.action, context).toBe('keep');
        const keptIds = new Set(kept(plan));

        // (From no rule at all, which keeps everything, any rule keeps less: that case is the hand example above.)
        const anyRule =
          rules.keepWithinDays !== undefined ||
          [rules.keepDaily, rules.keepWeekly, rules.keepMonthly, rules.keepYearly].some((n) => (n ?? 0) > 0);
        if (anyRule) {
          const more: RetentionRules = {
            ...rules,
            keepDaily: (rules.keepDaily ?? 0) + 2,
            keepMonthly: (rules.keepMonthly ?? 0) + 1,
          };
          const widened = new Set(kept(planRetention({ ...input, rules: more })));
          expect(
            [...keptIds].filter((id) => !widened.has(id)),
            context,
          ).toEqual([]);
        }

        const victim = plan.decisions.find((d) => d.action === 'delete');
        if (!victim) continue;
        const protections = new Map(input.protections ?? []);
        protections.set(victim.id, ['pinned']);
        const pinnedPlan = planRetention({ ...input, rules, protections });
        expect(reasonsOf(pinnedPlan, victim.id), context).toEqual(['pinned']);
        expect(kept(pinnedPlan).sort(), context).toEqual([...keptIds, victim.id].sort());
      }
    },
  );
});
