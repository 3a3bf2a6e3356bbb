import { AppError } from '../errors.js';
import { bucketOf, isTimeZone, type Period } from './calendar.js';

/** The schedule's retention rules; see docs/retention.md for the precise meaning of each. */
export interface RetentionRules {
  /** The schedule's `retentionDays`: keep every backup created at or after `now − days × 24 h`. */
  keepWithinDays?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** After the rules, delete the oldest unprotected kept backups until the kept ones fit. */
  maxTotalSizeMb?: number;
}

export interface RetentionBackup {
  id: string;
  createdAt: Date;
  status: 'queued' | 'running' | 'completed' | 'partial' | 'failed';
  /** Size of the backup file; null (unknown) counts as 0 against `maxTotalSizeMb`. */
  sizeBytes: number | null;
}

export interface RetentionInput {
  backups: readonly RetentionBackup[];
  rules: RetentionRules;
  /** Why the caller protects a backup (`pinned`, `being read`, `undo window`…); never deleted. */
  protections?: ReadonlyMap<string, readonly string[]>;
  now: Date;
  /** IANA zone whose calendar days, ISO weeks, months and years make the buckets (BACKUP_TIMEZONE). */
  timeZone: string;
}

export interface RetentionDecision {
  id: string;
  createdAt: Date;
  action: 'keep' | 'delete';
  /**
   * Why it is kept (`daily 2026-11-30`, `weekly 2026-W48`, `pinned`…) or deleted (`kept by no rule`, `over
   * maxTotalSizeMb 500`).
   */
  reasons: string[];
  /** For a backup the size cap deletes: the rules that would have kept it. */
  overridden?: string[];
}

export interface RetentionPlan {
  /** Newest first. */
  decisions: RetentionDecision[];
  /** Total `sizeBytes` of the kept backups. */
  keptBytes: number;
  /** True when protected backups alone exceed `maxTotalSizeMb`: nothing more may be deleted. */
  overSizeCap: boolean;
}

const MB = 1024 * 1024;
const DAY_MS = 86_400_000;
const PERIODS: [Period, keyof RetentionRules][] = [
  ['daily', 'keepDaily'],
  ['weekly', 'keepWeekly'],
  ['monthly', 'keepMonthly'],
  ['yearly', 'keepYearly'],
];

function validate(input: RetentionInput): void {
  const { rules } = input;
  for (const name of ['keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const) {
    const n = rules[name];
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 100_000)) {
      throw new AppError('VALIDATION_ERROR', `${name} must be a whole number from 0 to 100000`, { [name]: n });
    }
  }
  const days = rules.keepWithinDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) {
    throw new AppError('VALIDATION_ERROR', 'retentionDays must be a whole number of days from 1 to 3650', {
      retentionDays: days,
    });
  }
  const mb = rules.maxTotalSizeMb;
  if (mb !== undefined && (!Number.isFinite(mb) || mb <= 0)) {
    throw new AppError('VALIDATION_ERROR', 'maxTotalSizeMb must be a positive number', { maxTotalSizeMb: mb });
  }
  if (!isTimeZone(input.timeZone)) {
    throw new AppError('VALIDATION_ERROR', `Unknown time zone "${input.timeZone}"`);
  }
}

/**
 * Decides which backups retention keeps and which it deletes, with every reason, without touching
 * anything (pure: same input, same plan). The rules, in order (docs/retention.md says it precisely):
 *
 * 1. `queued`/`running` backups are kept (`in progress`); the newest `completed` backup (or, when none
 *    completed, the newest `partial` one) and every id in `protections` are kept and protected.
 * 2. `keepWithinDays` keeps every finished backup created at or after `now − days` (`within N days`).
 * 3. `keepDaily`… `keepYearly` follow restic 0.17's `forget --keep-*` over `completed` backups only:
 *    walking newest first, a rule keeps a backup whose bucket differs from the last bucket it kept,
 *    while its count lasts; when the walk reaches the oldest completed backup with count left, that
 *    one is kept too (`oldest daily …`). Reasons from several rules all appear.
 * 4. No rule at all (none of 2–3 set) keeps everything, as restic refuses an empty policy.
 * 5. `maxTotalSizeMb`: while the kept backups' sizes add up to more, the oldest kept backup that is
 *    not protected is deleted (reason `over maxTotalSizeMb N`, its rules in `overridden`). The cap
 *    wins over rules 2–4, never over rule 1.
 *
 * Traps: buckets are calendar ones in `timeZone`, not "the last N × 24 h"; `partial` and `failed`
 * backups never fill a GFS bucket, so a failed night does not push a good one out.
 * @throws AppError `VALIDATION_ERROR` for a negative or fractional count, retention days outside
 * 1..3650, a non-positive size cap or an unknown time zone.
 */
export function planRetention(input: RetentionInput): RetentionPlan {
  validate(input);
  const { rules, timeZone } = input;
  const sorted = [...input.backups].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
  const reasons = new Map<string, string[]>(sorted.map((b) => [b.id, []]));
  const protectedIds = new Set<string>();
  const protect = (id: string, why: string) => {
    reasons.get(id)?.push(why);
    if (reasons.has(id)) protectedIds.add(id);
  };

  for (const b of sorted) if (b.status === 'queued' || b.status === 'running') protect(b.id, 'in progress');
  const newest = sorted.find((b) => b.status === 'completed') ?? sorted.find((b) => b.status === 'partial');
  if (newest)
    protect(newest.id, newest.status === 'completed' ? 'newest completed' : 'newest partial (none completed)');
  for (const [id, whys] of input.protections ?? []) for (const why of whys) protect(id, why);

  const finished = sorted.filter((b) => b.status !== 'queued' && b.status !== 'running');
  if (rules.keepWithinDays !== undefined) {
    const cutoff = input.now.getTime() - rules.keepWithinDays * DAY_MS;
    for (const b of finished)
      if (b.createdAt.getTime() >= cutoff) reasons.get(b.id)!.push(`within ${rules.keepWithinDays} days`);
  }

  const completed = sorted.filter((b) => b.status === 'completed');
  for (const [period, name] of PERIODS) {
    let count = rules[name] ?? 0;
    let last: string | null = null;
    completed.forEach((b, nr) => {
      if (count <= 0) return;
      const bucket = bucketOf(period, b.createdAt, timeZone);
      const oldest = nr === completed.length - 1;
      if (bucket !== last || oldest) {
        reasons.get(b.id)!.push(`${bucket === last ? 'oldest ' : ''}${period} ${bucket}`);
        last = bucket;
        count--;
      }
    });
  }

  const anyRule = rules.keepWithinDays !== undefined || PERIODS.some(([, name]) => (rules[name] ?? 0) > 0);
  if (!anyRule) for (const b of finished) reasons.get(b.id)!.push('no retention rule');

  const decisions: RetentionDecision[] = sorted.map((b) => {
    const why = reasons.get(b.id)!;
    return why.length > 0
      ? { id: b.id, createdAt: b.createdAt, action: 'keep', reasons: why }
      : { id: b.id, createdAt: b.createdAt, action: 'delete', reasons: ['kept by no rule'] };
  });
  const size = new Map(sorted.map((b) => [b.id, b.sizeBytes ?? 0]));
  let keptBytes = decisions.reduce((sum, d) => sum + (d.action === 'keep' ? size.get(d.id)! : 0), 0);

  let overSizeCap = false;
  if (rules.maxTotalSizeMb !== undefined) {
    const cap = rules.maxTotalSizeMb * MB;
    for (let i = decisions.length - 1; i >= 0 && keptBytes > cap; i--) {
      const d = decisions[i]!;
      if (d.action !== 'keep' || protectedIds.has(d.id)) continue;
      decisions[i] = {
        ...d,
        action: 'delete',
        reasons: [`over maxTotalSizeMb ${rules.maxTotalSizeMb}`],
        overridden: d.reasons,
      };
      keptBytes -= size.get(d.id)!;
    }
    overSizeCap = keptBytes > cap;
  }
  return { decisions, keptBytes, overSizeCap };
}
