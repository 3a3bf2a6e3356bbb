import type { BackupLocation, BackupStatus, BackupType, Prisma, PrismaClient } from '@mp/db';
import { toTypeName, type BackupTypeName } from '../backups/requests.js';
import { AppError } from '../errors.js';
import { loadSchedule } from '../schedule/settings.js';

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
  /** Records created strictly before this instant are past retention. */
  cutoff: Date;
  /** The newest completed backup (or, when none completed, the newest partial one): never pruned. */
  keptId: string | null;
  /** Oldest first. */
  candidates: PruneCandidate[];
}

export interface PruneDeps {
  prisma: Pick<PrismaClient, 'backupRecord' | 'backupSchedule' | 'operation'>;
  now?: () => Date;
}

/**
 * Decides what a prune removes: records created before `now - retentionDays` days, whatever their
 * type, that are finished (`completed`, `partial` or `failed`), except the newest completed backup
 * and any backup a queued or running restore or verify reads. Records still `queued` or `running`
 * are never touched. `retentionDays` defaults to the schedule's.
 * @throws AppError `VALIDATION_ERROR` for a retention outside 1..3650 days.
 */
export async function planPrune(deps: PruneDeps, input: { retentionDays?: number } = {}): Promise<PrunePlan> {
  const retentionDays = input.retentionDays ?? (await loadSchedule(deps)).retentionDays;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) {
    throw new AppError('VALIDATION_ERROR', 'retentionDays must be a whole number of days from 1 to 3650', { retentionDays });
  }
  const now = deps.now?.() ?? new Date();
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);

  const newestOf = (status: BackupStatus) =>
    deps.prisma.backupRecord.findFirst({
      where: { status },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { id: true },
    });
  const kept = (await newestOf('completed')) ?? (await newestOf('partial'));

  const busy = await deps.prisma.operation.findMany({
    where: { kind: { in: ['restore', 'verify'] }, status: { in: ['queued', 'running'] }, backupId: { not: null } },
    select: { backupId: true },
  });
  // A restore or verify reads its backup's file: deleting it underneath would fail that job.
  const protectedIds = [...new Set([kept?.id, ...busy.map((o) => o.backupId)].filter((id): id is string => !!id))];

  const candidates = await deps.prisma.backupRecord.findMany({
    where: {
      createdAt: { lt: cutoff },
      status: { in: ['completed', 'partial', 'failed'] },
      id: { notIn: protectedIds },
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
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
  return { retentionDays, cutoff, keptId: kept?.id ?? null, candidates };
}

/** The answer of a preview: exactly the records a prune run now would delete. */
export interface PrunePreview {
  retentionDays: number;
  cutoff: string;
  keptId: string | null;
  backups: {
    id: string;
    filename: string;
    type: BackupTypeName;
    status: BackupStatus;
    location: BackupLocation;
    fileSize: number | null;
    createdAt: string;
  }[];
}

/**
 * Lists what {@link pruneBackups} would delete with the same inputs and clock, deleting nothing.
 * Trap: the answer is only exact for the same `now`; a prune run later may include more records.
 */
export async function previewPrune(deps: PruneDeps, input: { retentionDays?: number } = {}): Promise<PrunePreview> {
  const plan = await planPrune(deps, input);
  return {
    retentionDays: plan.retentionDays,
    cutoff: plan.cutoff.toISOString(),
    keptId: plan.keptId,
    backups: plan.candidates.map((c) => ({
      id: c.id,
      filename: c.filename,
      type: toTypeName(c.type),
      status: c.status,
      location: c.location,
      fileSize: c.fileSize === null ? null : Number(c.fileSize),
      createdAt: c.createdAt.toISOString(),
    })),
  };
}
