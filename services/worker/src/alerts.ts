import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { raiseAlert, verdictOf, type AlertCondition, type AlertDeps } from '@mp/core';
import type { WorkerDeps } from './deps.js';

/** Jobs after which health is judged again at once (not only on the health-check scheduler). */
const HEALTH_AFTER = new Set([
  'backup.create',
  'backup.scheduled',
  'backup.drill',
  'backup.scheduled-drill',
  'backup.verify',
]);
const BACKUP_JOBS = new Set(['backup.create', 'backup.scheduled', 'backup.verify']);

/** Alert events go out only with a webhook configured; conditions are tracked in `alert_states` either way. */
export function alertSending(deps: Pick<WorkerDeps, 'config'>): { send: boolean } {
  return { send: Boolean(deps.config.BACKUP_ALERT_WEBHOOK_URL && deps.config.BACKUP_ALERT_WEBHOOK_SECRET) };
}

/**
 * After a job failed for good (the caller judged it final): raises the alert of what failed (a backup,
 * a prune, a read-back, a drill), then queues a health check. Alerts are queued as their own jobs, so
 * this never waits on a webhook. Jobs that are not watched (restore, reset, the alert itself, …) raise nothing.
 */
export async function afterFinalFailure(deps: WorkerDeps, job: Job): Promise<void> {
  const data = job.data as { backupId?: string; operationId?: string };
  const jobId = job.id ?? '';
  const conditions: AlertCondition[] = [];
  if (job.name === 'backup.create' || job.name === 'backup.scheduled') {
    const backupId = data.backupId ?? (await backupOfJob(deps, jobId)) ?? jobId;
    conditions.push({ type: 'backup.failed', subject: { kind: 'backup', id: backupId }, code: job.name });
    if (await readBackFailed(deps, backupId)) conditions.push(readBackCondition(backupId));
  } else if (job.name === 'backup.verify' && data.backupId) {
    conditions.push(readBackCondition(data.backupId));
  } else if (job.name === 'backup.prune') {
    const id = data.operationId ?? (await operationOfJob(deps, jobId)) ?? jobId;
    conditions.push({ type: 'prune.failed', subject: { kind: 'operation', id } });
  } else if (job.name === 'backup.drill' || job.name === 'backup.scheduled-drill') {
    const id = data.operationId ?? (await operationOfJob(deps, jobId)) ?? jobId;
    conditions.push({ type: 'drill.failed', subject: { kind: 'drill', id }, code: job.name });
  }
  await raiseAll(deps, conditions);
  if (HEALTH_AFTER.has(job.name)) await enqueueHealthCheck(deps);
}

/**
 * After a job completed: a backup (or a verify) whose read-back report says `ok: false`, and a drill whose
 * result says `ok: false`, raise their alerts; backups and drills then queue a health check.
 */
export async function afterCompleted(deps: WorkerDeps, job: Job): Promise<void> {
  if (!HEALTH_AFTER.has(job.name)) return;
  const data = job.data as { backupId?: string; operationId?: string };
  const conditions: AlertCondition[] = [];
  if (BACKUP_JOBS.has(job.name)) {
    const backupId = data.backupId ?? (await backupOfJob(deps, job.id ?? ''));
    if (backupId && (await readBackFailed(deps, backupId))) conditions.push(readBackCondition(backupId));
  } else {
    const id = data.operationId ?? (await operationOfJob(deps, job.id ?? ''));
    const op = id ? await deps.prisma.operation.findUnique({ where: { id }, select: { result: true } }) : null;
    if (id && op && verdictOf(op.result) === false) {
      conditions.push({ type: 'drill.failed', subject: { kind: 'drill', id }, code: job.name });
    }
  }
  await raiseAll(deps, conditions);
  await enqueueHealthCheck(deps);
}

function readBackCondition(backupId: string): AlertCondition {
  return { type: 'readback.failed', subject: { kind: 'backup', id: backupId } };
}

async function raiseAll(deps: WorkerDeps, conditions: AlertCondition[]): Promise<void> {
  const alertDeps: AlertDeps = deps;
  for (const condition of conditions) await raiseAlert(alertDeps, condition, alertSending(deps));
}

async function readBackFailed(deps: WorkerDeps, backupId: string): Promise<boolean> {
  const record = await deps.prisma.backupRecord.findUnique({ where: { id: backupId }, select: { verification: true } });
  return verdictOf(record?.verification) === false;
}

async function backupOfJob(deps: WorkerDeps, jobId: string): Promise<string | null> {
  if (!jobId) return null;
  return (await deps.prisma.backupRecord.findFirst({ where: { jobId }, select: { id: true } }))?.id ?? null;
}

async function operationOfJob(deps: WorkerDeps, jobId: string): Promise<string | null> {
  if (!jobId) return null;
  return (await deps.prisma.operation.findUnique({ where: { jobId }, select: { id: true } }))?.id ?? null;
}

/** Queues one `backup.health-check` now; a queue outage is logged (the scheduler's next run catches up). */
export async function enqueueHealthCheck(deps: Pick<WorkerDeps, 'producer' | 'logger'>): Promise<void> {
  try {
    await deps.producer.enqueue('backup.health-check', {}, { jobId: `health-${randomUUID()}` });
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message.split('\n')[0] }, 'could not queue a health check');
  }
}
