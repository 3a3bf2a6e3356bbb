import { z } from 'zod';
import { Prisma, type PrismaClient } from '@mp/db';
import { readRecordStorage } from '../backups/record-storage.js';
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
  })
  .loose();

/**
 * Reads the facts {@link evaluateHealth} judges from PostgreSQL, in a handful of small indexed
 * queries: the schedule (created with its defaults when missing, like every schedule read), the two
 * newest completed backups, the newest scheduled one, the newest backup carrying a verification
 * report, and the bytes of every stored copy (completed and partial backups; local and cloud copies
 * count separately).
 *
 * Drills are not stored yet: pass them in `input.drills` once they are; left out, the drill check
 * passes saying it is not recorded. A verification report of a shape it cannot read counts as a
 * failed read-back with one problem, so a broken writer shows up rather than passing silently.
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
  const verified = await prisma.backupRecord.findFirst({
    where: { verification: { not: Prisma.DbNull } },
    orderBy: { createdAt: 'desc' },
    select: { id: true, verification: true },
  });
  const stored = await prisma.backupRecord.findMany({
    where: { status: { in: ['completed', 'partial'] }, fileSize: { not: null } },
    select: { fileSize: true, storage: true },
  });

  const [newest, previous] = completed;
  let totalStoredBytes = 0;
  for (const r of stored) {
    const copies = readRecordStorage(r.storage);
    totalStoredBytes += Number(r.fileSize) * ((copies.local ? 1 : 0) + (copies.cloud ? 1 : 0));
  }
  return {
    schedule: { frequency: schedule.frequency, timezone: input.timezone, changedAt: schedule.updatedAt },
    newestCompleted: newest
      ? { id: newest.id, completedAt: newest.completedAt ?? newest.createdAt, fileSize: sizeOf(newest.fileSize) }
      : null,
    previousCompleted: previous ? { id: previous.id, fileSize: sizeOf(previous.fileSize) } : null,
    lastScheduled,
    latestReadBack: verified ? readBackOf(verified.id, verified.verification) : null,
    totalStoredBytes,
    ...(input.drills ? { drills: input.drills } : {}),
  };
}

function sizeOf(value: bigint | null): number | null {
  return value === null ? null : Number(value);
}

function readBackOf(backupId: string, value: unknown): NonNullable<HealthFacts['latestReadBack']> {
  const parsed = verificationSchema.safeParse(value);
  if (!parsed.success) return { backupId, ok: false, checkedAt: null, problems: 1 };
  const { ok, checkedAt, problems, checks } = parsed.data;
  const count = problems?.length ?? checks?.filter((c) => !c.ok).length ?? (ok ? 0 : 1);
  const at = checkedAt ? new Date(checkedAt) : null;
  return { backupId, ok, checkedAt: at && !Number.isNaN(at.getTime()) ? at : null, problems: ok ? 0 : Math.max(count, 1) };
}
