import type { BackupLocation, BackupStatus, BackupType, Prisma, PrismaClient } from '@mp/db';
import { restoreResultSchema } from '../restore/run-restore.js';
import { toTypeName, type BackupTypeName } from '../backups/backup-views.js';
import { AppError } from '../errors.js';
import { loadSchedule } from '../schedule/settings.js';
import { planRetention, type RetentionDecision, type RetentionRules } from './gfs.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What pruning looks at for one record. */
export interface PruneCandidate {
  id: string;
  filename: string;
  type: BackupType;
  status: BackupStatus;
  location: BackupLocation;
  storage: Prisma.JsonValue;
  fileSize: bigint | null;
  createdAt: Date;
}

export interface PrunePlan {
  retentionDays: number;
  /** The rules applied: `keepWithinDays` is `retentionDays`; the GFS counts and the cap as scheduled. */
  rules: RetentionRules;
  timeZone: string;
  /** Records created strictly before this instant are past `retentionDays`. */
  cutoff: Date;
  /** The newest completed backup (or, when none completed, the newest partial one): never pruned. */
  keptId: string | null;
  /** What a prune deletes, oldest first. */
  candidates: PruneCandidate[];
  /** Every backup, newest first, with keep/delete and why (`planRetention`). */
  decisions: RetentionDecision[];
  /** Every record the plan looked at, by id. */
  records: ReadonlyMap<string, PruneCandidate>;
  keptBytes: number;
  overSizeCap: boolean;
}

export interface PruneDeps {
  prisma: Pick<PrismaClient, 'backupRecord' | 'backupSchedule' | 'operation'>;
  now?: () => Date;
}

export interface PruneInput {
  /** Overrides the schedule's `retentionDays` (a preview of another setting). */
  retentionDays?: number;
  /** BACKUP_TIMEZONE: the calendar of the daily/weekly/monthly/yearly buckets. */
  timeZone?: string;
}

/** Operations that read a backup's file while queued or running: deleting it would fail them. */
const READING_KINDS = ['restore', 'verify', 'drill', 'preview', 'entity_restore', 'rekey'] as const;

/**
 * Why each backup may not be deleted, whatever the rules say: `pinned`; `being read` (a queued or
 * running restore, verify, drill, preview, entity restore or rekey names it: a download needs no
 * entry, since a local file being streamed stays readable through its open descriptor once deleted, and
 * a cloud download is a signed URL served by Cloudinary); `undo window` (the safety backup of a
 * restore whose `undoUntil` is still ahead).
 */
export async function loadProtections(deps: PruneDeps, now: Date): Promise<Map<string, string[]>> {
  const protections = new Map<string, string[]>();
  const add = (id: string | null | undefined, why: string) => {
    if (!id) return;
    const list = protections.get(id) ?? [];
    if (!list.includes(why)) list.push(why);
    protections.set(id, list);
  };
  const pinned = await deps.prisma.backupRecord.findMany({ where: { pinned: true }, select: { id: true } });
  for (const p of pinned) add(p.id, 'pinned');
  const reading = await deps.prisma.operation.findMany({
    where: { kind: { in: [...READING_KINDS] }, status: { in: ['queued', 'running'] }, backupId: { not: null } },
    select: { backupId: true },
  });
  for (const r of reading) add(r.backupId, 'being read');
  const undoable = await deps.prisma.operation.findMany({
    where: { kind: 'restore', undoUntil: { gt: now } },
    select: { result: true },
  });
  for (const u of undoable) add(safetyBackupIdOf(u.result), 'undo window');
  return protections;
}

function safetyBackupIdOf(result: Prisma.JsonValue): string | null {
  return restoreResultSchema.pick({ safetyBackupId: true }).safeParse(result).data?.safetyBackupId ?? null;
}

/** The schedule's rules: `retentionDays` always; a GFS count or cap only when set (null = unused). */
function rulesOf(
  row: {
    retentionDays: number;
    keepDaily: number | null;
    keepWeekly: number | null;
    keepMonthly: number | null;
    keepYearly: number | null;
    maxTotalSizeMb: number | null;
  },
  retentionDays: number,
): RetentionRules {
  const rules: RetentionRules = { keepWithinDays: retentionDays };
  if (row.keepDaily !== null) rules.keepDaily = row.keepDaily;
  if (row.keepWeekly !== null) rules.keepWeekly = row.keepWeekly;
  if (row.keepMonthly !== null) rules.keepMonthly = row.keepMonthly;
  if (row.keepYearly !== null) rules.keepYearly = row.keepYearly;
  if (row.maxTotalSizeMb !== null) rules.maxTotalSizeMb = row.maxTotalSizeMb;
  return rules;
}

/**
 * Decides what a prune removes with `planRetention` (docs/retention.md): the schedule's
 * `retentionDays` (or `input.retentionDays`) and its GFS rules and size cap, in the schedule time zone.
 * Never deleted: backups still queued or running, the newest completed one, pinned ones, ones being
 * read, and a restore's safety backup while the restore can be undone (`loadProtections`).
 * @throws AppError `VALIDATION_ERROR` for a retention outside 1..3650 days or an unknown time zone.
 */
export async function planPrune(deps: PruneDeps, input: PruneInput = {}): Promise<PrunePlan> {
  const schedule = await loadSchedule(deps);
  const retentionDays = input.retentionDays ?? schedule.retentionDays;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) {
    throw new AppError('VALIDATION_ERROR', 'retentionDays must be a whole number of days from 1 to 3650', {
      retentionDays,
    });
  }
  const now = deps.now?.() ?? new Date();
  const timeZone = input.timeZone ?? 'UTC';
  const rules = rulesOf(schedule, retentionDays);
  const records = await deps.prisma.backupRecord.findMany({
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    select: {
      id: true,
      filename: true,
      type: true,
      status: true,
      location: true,
      storage: true,
      fileSize: true,
      createdAt: true,
    },
  });
  const protections = await loadProtections(deps, now);
  const plan = planRetention({
    backups: records.map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      status: r.status,
      sizeBytes: r.fileSize === null ? null : Number(r.fileSize),
    })),
    rules,
    protections,
    now,
    timeZone,
  });
  const byId = new Map(records.map((r) => [r.id, r]));
  const candidates = plan.decisions
    .filter((d) => d.action === 'delete')
    .map((d) => byId.get(d.id)!)
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
  const kept = plan.decisions.find(
    (d) => d.reasons.includes('newest completed') || d.reasons.includes('newest partial (none completed)'),
  );
  return {
    retentionDays,
    rules,
    timeZone,
    cutoff: new Date(now.getTime() - retentionDays * DAY_MS),
    keptId: kept?.id ?? null,
    candidates,
    decisions: plan.decisions,
    records: byId,
    keptBytes: plan.keptBytes,
    overSizeCap: plan.overSizeCap,
  };
}

/** One backup in a preview: what it is, and what retention does with it and why. */
export interface RetentionPreviewItem {
  id: string;
  filename: string;
  type: BackupTypeName;
  status: BackupStatus;
  location: BackupLocation;
  fileSize: number | null;
  createdAt: string;
  action: 'keep' | 'delete';
  /** The rules or protections that keep it, or why it goes. */
  reasons: string[];
  /** For a backup the size cap deletes: the rules that would have kept it. */
  overridden?: string[];
}

/** The answer of a preview: exactly what a prune run now would keep and delete, and why. */
export interface PrunePreview {
  retentionDays: number;
  rules: RetentionRules;
  timeZone: string;
  cutoff: string;
  keptId: string | null;
  keptBytes: number;
  overSizeCap: boolean;
  /** The backups a prune would delete, oldest first. */
  backups: Omit<RetentionPreviewItem, 'action' | 'reasons' | 'overridden'>[];
  /** Every backup, newest first, with its decision. */
  decisions: RetentionPreviewItem[];
}

function describe(c: PruneCandidate) {
  return {
    id: c.id,
    filename: c.filename,
    type: toTypeName(c.type),
    status: c.status,
    location: c.location,
    fileSize: c.fileSize === null ? null : Number(c.fileSize),
    createdAt: c.createdAt.toISOString(),
  };
}

/**
 * Lists what {@link pruneBackups} would keep and delete with the same inputs and clock, deleting nothing.
 * Trap: the answer is only exact for the same `now`; a prune run later may include more records.
 */
export async function previewPrune(deps: PruneDeps, input: PruneInput = {}): Promise<PrunePreview> {
  const plan = await planPrune(deps, input);
  return {
    retentionDays: plan.retentionDays,
    rules: plan.rules,
    timeZone: plan.timeZone,
    cutoff: plan.cutoff.toISOString(),
    keptId: plan.keptId,
    keptBytes: plan.keptBytes,
    overSizeCap: plan.overSizeCap,
    backups: plan.candidates.map(describe),
    decisions: plan.decisions.map((d) => ({
      ...describe(plan.records.get(d.id)!),
      action: d.action,
      reasons: d.reasons,
      ...(d.overridden ? { overridden: d.overridden } : {}),
    })),
  };
}
