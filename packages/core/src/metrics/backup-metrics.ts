import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Backup kinds (the record's `type`) that always have a failure series, 0 included, so `rate()` works from the start.
 */
const BACKUP_KINDS = ['manual', 'scheduled', 'pre-restore'] as const;

/** Upper bounds of the duration buckets, in seconds: a small database takes seconds, 2.4 M rows minutes. */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/** Completed backups of one kind whose durations fall in one bucket of {@link DURATION_BUCKETS}. */
export interface DurationGroup {
  kind: string;
  /** The bucket's upper bound in seconds (`Infinity` above the last). */
  le: number;
  count: number;
  sumSeconds: number;
}

/** What the metrics are built from; a loader fills it from PostgreSQL and the queues at scrape time. */
export interface BackupMetricsFacts {
  /** `completedAt` of the newest completed backup; `null` when there is none (exported as 0: "never"). */
  lastSuccessAt: Date | null;
  /** Size of the newest completed backup; `null` leaves the series out. */
  newestSizeBytes: number | null;
  /**
   * Durations of the completed backups on record, by kind (`manual`, `scheduled`, `pre-restore`), counted per
   * bucket: the `count` backups of one group took `sumSeconds` together, each at most `le` seconds (one of
   * {@link DURATION_BUCKETS}, or `Infinity`) and more than the bound below it.
   */
  durations: ReadonlyArray<DurationGroup>;
  /** Failed backups on record, by kind. */
  failuresByKind: Readonly<Record<string, number>>;
  /** Recovery time of the newest successful drill; `null` leaves the series out. */
  drillLastRtoSeconds: number | null;
  /** Jobs per queue and BullMQ state (`waiting`, `active`, `delayed`, `failed`, …). */
  queueJobs: ReadonlyArray<{ queue: string; state: string; count: number }>;
  /** `false` when the queue counts could not be read (Redis down): `mp_queue_up 0`, and no `mp_queue_jobs` series. */
  queueUp?: boolean;
  healthy: boolean;
}

/**
 * A fresh prom-client `Registry` (never the global one, so nothing else leaks in and two builds never
 * collide) holding the backup metric families, built from `facts`:
 * `mp_backup_last_success_timestamp_seconds`, `mp_backup_duration_seconds` (histogram by kind),
 * `mp_backup_size_bytes`, `mp_backup_failures_total{kind}`, `mp_restore_drill_last_rto_seconds`,
 * `mp_queue_jobs{queue,state}`, `mp_queue_up` (when `queueUp` is given) and `mp_backup_healthy` (1 or 0).
 *
 * Trap: built per scrape from the records on file, so the histogram and the failure counter count what
 * is kept; retention pruning old records lowers them, which Prometheus reads as a counter reset.
 * `increase()` over a window shorter than the retention is unaffected.
 */
export function buildBackupMetrics(facts: BackupMetricsFacts): Registry {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'mp_backup_last_success_timestamp_seconds',
    help: 'Unix time the newest completed backup finished; 0 when none has',
    registers,
  }).set(facts.lastSuccessAt ? facts.lastSuccessAt.getTime() / 1000 : 0);

  const duration = new Histogram({
    name: 'mp_backup_duration_seconds',
    help: 'Duration of the completed backups on record, by kind',
    labelNames: ['kind'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  // prom-client observes one value at a time: each backup of a group is observed at the group's mean, which lies
  // in the group's bucket (the same bucket counts and sum as the durations themselves, up to rounding).
  for (const g of facts.durations) {
    const observe = duration.labels({ kind: g.kind });
    const mean = Math.min(g.sumSeconds / g.count, g.le);
    for (let i = 0; i < g.count; i++) observe.observe(mean);
  }

  if (facts.newestSizeBytes !== null) {
    new Gauge({ name: 'mp_backup_size_bytes', help: 'Size of the newest completed backup file', registers }).set(
      facts.newestSizeBytes,
    );
  }

  const failures = new Counter({
    name: 'mp_backup_failures_total',
    help: 'Failed backups on record, by kind',
    labelNames: ['kind'] as const,
    registers,
  });
  for (const kind of BACKUP_KINDS) failures.inc({ kind }, 0);
  for (const [kind, count] of Object.entries(facts.failuresByKind)) if (count > 0) failures.inc({ kind }, count);

  if (facts.drillLastRtoSeconds !== null) {
    new Gauge({
      name: 'mp_restore_drill_last_rto_seconds',
      help: 'Seconds from start to a usable database in the newest successful restore drill',
      registers,
    }).set(facts.drillLastRtoSeconds);
  }

  const jobs = new Gauge({
    name: 'mp_queue_jobs',
    help: 'Jobs in each queue, by BullMQ state',
    labelNames: ['queue', 'state'] as const,
    registers,
  });
  for (const q of facts.queueJobs) jobs.set({ queue: q.queue, state: q.state }, q.count);

  if (facts.queueUp !== undefined) {
    new Gauge({
      name: 'mp_queue_up',
      help: '1 when the job queue (Redis) answered this scrape, else 0 (mp_queue_jobs is then left out)',
      registers,
    }).set(facts.queueUp ? 1 : 0);
  }

  new Gauge({ name: 'mp_backup_healthy', help: '1 when every backup health check passes, else 0', registers }).set(
    facts.healthy ? 1 : 0,
  );
  return registry;
}

/** The metrics of `facts` in the Prometheus text format, with the content type to answer `/metrics` with. */
export async function renderBackupMetrics(facts: BackupMetricsFacts): Promise<{ contentType: string; body: string }> {
  const registry = buildBackupMetrics(facts);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
