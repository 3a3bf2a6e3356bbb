import type { PrismaClient } from '@mp/db';
import type { JobState } from 'bullmq';
import { QUEUES, type Producer } from '@mp/jobs';
import type { BackupMetricsFacts } from './backup-metrics.js';

/** The BullMQ states exported per queue (BullMQ 6's `JobState` has no `paused`). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const satisfies readonly JobState[];

/** The file's spelling of a backup type (Prisma names the enum value `pre_restore`). */
const kindOf = (type: string): string => (type === 'pre_restore' ? 'pre-restore' : type);

/**
 * Reads the facts of {@link buildBackupMetrics} at scrape time: the newest completed backup, the
 * durations of the completed ones on record, failures by kind (three small queries on the
 * `(status, type)` index) and each queue's job counts. Health and the drill's recovery time come in as
 * input: health is judged once per scrape by the caller, and drills are not stored yet.
 * Trap: a Redis outage rejects (the producer's offline queue is off); answer the scrape with 503.
 */
export async function loadMetricsFacts(
  deps: { prisma: PrismaClient; producer: Pick<Producer, 'queue'> },
  input: { healthy: boolean; drillLastRtoSeconds?: number | null },
): Promise<BackupMetricsFacts> {
  const { prisma } = deps;
  const newest = await prisma.backupRecord.findFirst({
    where: { status: 'completed' },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    select: { completedAt: true, createdAt: true, fileSize: true },
  });
  const timed = await prisma.backupRecord.findMany({
    where: { status: 'completed', durationMs: { not: null } },
    select: { type: true, durationMs: true },
  });
  const failed = await prisma.backupRecord.groupBy({ by: ['type'], where: { status: 'failed' }, _count: { _all: true } });
  const queueJobs: BackupMetricsFacts['queueJobs'][number][] = [];
  for (const queue of Object.values(QUEUES)) {
    const counts = await deps.producer.queue(queue).getJobCounts(...QUEUE_STATES);
    for (const state of QUEUE_STATES) queueJobs.push({ queue, state, count: counts[state] ?? 0 });
  }
  return {
    lastSuccessAt: newest ? (newest.completedAt ?? newest.createdAt) : null,
    newestSizeBytes: newest?.fileSize != null ? Number(newest.fileSize) : null,
    durations: timed.map((r) => ({ kind: kindOf(r.type), seconds: (r.durationMs ?? 0) / 1000 })),
    failuresByKind: Object.fromEntries(failed.map((g) => [kindOf(g.type), g._count._all])),
    drillLastRtoSeconds: input.drillLastRtoSeconds ?? null,
    queueJobs,
    healthy: input.healthy,
  };
}
