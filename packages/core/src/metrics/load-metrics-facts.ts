import { z } from 'zod';
import type { PrismaClient } from '@mp/db';
import type { JobState } from 'bullmq';
import { QUEUES, type Producer } from '@mp/jobs';
import { settleWithin } from '../timeout.js';
import { DURATION_BUCKETS, type BackupMetricsFacts } from './backup-metrics.js';

/** The BullMQ states exported per queue (BullMQ 6's `JobState` has no `paused`). */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const satisfies readonly JobState[];

/** The file's spelling of a backup type (Prisma names the enum value `pre_restore`). */
const kindOf = (type: string): string => (type === 'pre_restore' ? 'pre-restore' : type);

/** How long a scrape waits for the queue counts before answering without them. */
const QUEUE_COUNTS_TIMEOUT_MS = 2_000;

/**
 * Reads the facts of {@link buildBackupMetrics} at scrape time: the newest completed backup, the
 * durations of the completed ones on record counted per kind and bucket, failures by kind (three small queries on the
 * `(status, type)` index), the newest successful drill's recovery time, and each queue's job counts.
 * Health comes in as input: it is judged once per scrape by the caller. `input.drillLastRtoSeconds`
 * overrides the drill read from the operations.
 *
 * A Redis outage never fails the scrape: the queue counts are left out and `queueUp` is false
 * (`mp_queue_up 0`), after at most two seconds.
 */
export async function loadMetricsFacts(
  deps: { prisma: PrismaClient; producer: Pick<Producer, 'queue'> & Partial<Pick<Producer, 'isDisconnected'>> },
  input: { healthy: boolean; drillLastRtoSeconds?: number | null },
): Promise<BackupMetricsFacts> {
  const { prisma } = deps;
  const newest = await prisma.backupRecord.findFirst({
    where: { status: 'completed' },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    select: { completedAt: true, createdAt: true, fileSize: true },
  });
  // Counted per bucket in SQL: read row by row, 10,000 records cost the API's event loop on every scrape.
  // `bucket` is the number of bounds below the duration: the index of the first bound it does not exceed.
  const timed = await prisma.$queryRaw<{ type: string; bucket: number; count: number; sumMs: number }[]>`
    SELECT type::text AS type,
           (SELECT count(*) FROM unnest(${DURATION_BUCKETS}::float8[]) AS b
             WHERE b * 1000 < "durationMs")::int AS bucket,
           count(*)::int AS count, sum("durationMs")::float8 AS "sumMs"
      FROM backup_records WHERE status = 'completed' AND "durationMs" IS NOT NULL
     GROUP BY 1, 2`;
  const failed = await prisma.backupRecord.groupBy({
    by: ['type'],
    where: { status: 'failed' },
    _count: { _all: true },
  });
  const queueJobs = await readQueueJobs(deps.producer);
  return {
    lastSuccessAt: newest ? (newest.completedAt ?? newest.createdAt) : null,
    newestSizeBytes: newest?.fileSize != null ? Number(newest.fileSize) : null,
    durations: timed.map((r) => ({
      kind: kindOf(r.type),
      le: DURATION_BUCKETS[r.bucket] ?? Number.POSITIVE_INFINITY,
      count: r.count,
      sumSeconds: r.sumMs / 1000,
    })),
    failuresByKind: Object.fromEntries(failed.map((g) => [kindOf(g.type), g._count._all])),
    drillLastRtoSeconds:
      input.drillLastRtoSeconds !== undefined ? input.drillLastRtoSeconds : await readDrillRto(prisma),
    queueJobs: queueJobs ?? [],
    queueUp: queueJobs !== null,
    healthy: input.healthy,
  };
}

const drillResultSchema = z.object({ ok: z.boolean().optional(), rtoSeconds: z.number().nonnegative() }).loose();

/** `rtoSeconds` of the newest completed drill whose result is not `ok: false`; `null` when there is none. */
async function readDrillRto(prisma: PrismaClient): Promise<number | null> {
  const drills = await prisma.operation.findMany({
    where: { kind: 'drill', status: 'completed' },
    orderBy: [{ completedAt: { sort: 'desc', nulls: 'last' } }, { createdAt: 'desc' }],
    take: 20,
    select: { result: true },
  });
  for (const d of drills) {
    const parsed = drillResultSchema.safeParse(d.result);
    if (parsed.success && parsed.data.ok !== false) return parsed.data.rtoSeconds;
  }
  return null;
}

/** Job counts per queue and state, or `null` when Redis does not answer in time. */
async function readQueueJobs(
  producer: Pick<Producer, 'queue'> & Partial<Pick<Producer, 'isDisconnected'>>,
): Promise<BackupMetricsFacts['queueJobs'][number][] | null> {
  if (producer.isDisconnected?.()) return null;
  const read = async () => {
    const out: BackupMetricsFacts['queueJobs'][number][] = [];
    for (const queue of Object.values(QUEUES)) {
      const counts = await producer.queue(queue).getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) out.push({ queue, state, count: counts[state] ?? 0 });
    }
    return out;
  };
  return settleWithin(
    read().catch(() => null),
    QUEUE_COUNTS_TIMEOUT_MS,
    () => null,
  );
}
