import { z } from 'zod';
import { Prisma, type PrismaClient } from '@mp/db';
import { STORED_COPIES_SQL } from '../backups/record-storage.js';
import { loadSchedule } from '../schedule/settings.js';
import type { HealthFacts } from './evaluate-health.js';

/**
 * What health needs of a stored verification report. Loose on purpose: today's `verifyBackup` report
 * has `problems: string[]`; a per-check report may carry `checks: [{ ok }]` instead.
 */
const verificationSchema = z
  .object({
    ok: z.boolean(),
    checkedAt: z.string().optional(),
    problems: z.array(z.unknown()).optional(),
    checks: z.array(z.object({ ok: z.boolean() }).loose()).optional(),
    /** The read-back report: one entry per stored copy (local, cloud), each with its own `ok`. */
    copies: z.array(z.object({ ok: z.boolean() }).loose()).optional(),
  })
  .loose();

/**
 * Reads the facts {@link evaluateHealth} judges from PostgreSQL, in a handful of small indexed
 * queries: the schedule (created with its defaults when missing, like every schedule read), the two
 * newest completed backups, the newest scheduled one, the verification report of the newest
 * completed-or-partial backup (its read-back), the bytes of every stored copy (completed and partial
 * backups; local and cloud copies count separately), and the restore drills (operations of kind
 * `drill`: the newest finished one, and when one last succeeded).
 *
 * A drill counts as failed when its operation failed or its result says `ok: false`. `input.drills`
 * overrides what the operations say (tests). A verification report of a shape it cannot read counts as
 * a failed read-back with one problem, so a broken writer shows up rather than passing silently.
 */
export async function loadHealthFacts(
  deps: { prisma: PrismaClient },
  input: { timezone: string; drills?: HealthFacts['drills'] },
): Promise<HealthFacts> {
  const { prisma } = deps;
  const schedule = await loadSchedule(deps);
  const completed = await prisma.backupRecord.findMany({
    where: { status: 'completed' },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    take: 2,
    select: { id: true, completedAt: true, createdAt: true, fileSize: true },
  });
  const lastScheduled = await prisma.backupRecord.findFirst({
    where: { type: 'scheduled' },
    orderBy: { createdAt: 'desc' },
    select: { id: true, status: true, createdAt: true },
  });
  // The read-back of the newest backup that has a stored copy: no report yet (still being read back) means no verdict.
  const newestStored = await prisma.backupRecord.findFirst({
    where: { status: { in: ['completed', 'partial'] } },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    select: { id: true, verification: true },
  });
  const verified = newestStored && newestStored.verification !== null ? newestStored : null;
  // Summed in SQL: read row by row, 10,000 records held the API's event loop for about 0.1 s on every check.
  const [stored] = await prisma.$queryRaw<{ bytes: number | null }[]>`
    SELECT sum("fileSize"::float8 * ${Prisma.raw(STORED_COPIES_SQL)})::float8 AS bytes FROM backup_records
     WHERE status IN ('completed', 'partial') AND "fileSize" IS NOT NULL`;
  const totalStoredBytes = stored?.bytes ?? 0;

  const [newest, previous] = completed;
  return {
    schedule: {
      frequency: schedule.frequency,
      timezone: input.timezone,
      changedAt: schedule.updatedAt,
      drillFrequency: schedule.drillFrequency,
    },
    newestCompleted: newest
      ? { id: newest.id, completedAt: newest.completedAt ?? newest.createdAt, fileSize: sizeOf(newest.fileSize) }
      : null,
    previousCompleted: previous ? { id: previous.id, fileSize: sizeOf(previous.fileSize) } : null,
    lastScheduled,
    latestReadBack: verified ? readBackOf(verified.id, verified.verification) : null,
    totalStoredBytes,
    drills: input.drills ?? (await loadDrillFacts(prisma)),
  };
}

const drillResultSchema = z.object({ ok: z.boolean().optional() }).loose();

/** The newest finished drill (a completed one whose result says `ok: false` counts as failed) and the last success. */
async function loadDrillFacts(prisma: PrismaClient): Promise<NonNullable<HealthFacts['drills']>> {
  const finished = await prisma.operation.findMany({
    where: { kind: 'drill', status: { in: ['completed', 'failed'] } },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    take: 20,
    select: { id: true, status: true, result: true, createdAt: true, completedAt: true },
  });
  const succeeded = (op: (typeof finished)[number]) =>
    op.status === 'completed' && drillResultSchema.safeParse(op.result).data?.ok !== false;
  const newest = finished[0];
  // Past 20 finished drills without a success the check fails on the newest one anyway; only `value` (its age) is lost.
  const success = finished.find(succeeded);
  return {
    last: newest
      ? {
          id: newest.id,
          status: succeeded(newest) ? 'completed' : 'failed',
          at: newest.completedAt ?? newest.createdAt,
        }
      : null,
    lastSucceededAt: success ? (success.completedAt ?? success.createdAt) : null,
  };
}

function sizeOf(value: bigint | null): number | null {
  return value === null ? null : Number(value);
}

function readBackOf(backupId: string, value: unknown): NonNullable<HealthFacts['latestReadBack']> {
  const parsed = verificationSchema.safeParse(value);
  if (!parsed.success) return { backupId, ok: false, checkedAt: null, problems: 1 };
  const { ok, checkedAt, problems, checks, copies } = parsed.data;
  const count =
    problems?.length ?? checks?.filter((c) => !c.ok).length ?? copies?.filter((c) => !c.ok).length ?? (ok ? 0 : 1);
  const at = checkedAt ? new Date(checkedAt) : null;
  return {
    backupId,
    ok,
    checkedAt: at && !Number.isNaN(at.getTime()) ? at : null,
    problems: ok ? 0 : Math.max(count, 1),
  };
}
