import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import type { Logger } from '@mp/logger';
import type { HealthCheckName } from '../health/evaluate-health.js';
import { alertEventSchema, alertKey, sendWebhook, type AlertEvent, type AlertEventType } from './webhook.js';

/** What an alert is about: a failure of one backup or operation, or one failing health check. */
export interface AlertCondition {
  type: Exclude<AlertEventType, 'health.recovered'>;
  subject: AlertEvent['subject'];
  code?: string;
}

export interface AlertDeps {
  prisma: PrismaClient;
  producer: Pick<Producer, 'enqueue'>;
  logger: Pick<Logger, 'warn' | 'info'>;
  now?: () => Date;
}

/** Whether alert events go out (`BACKUP_ALERT_WEBHOOK_URL` set); conditions are tracked either way. */
export interface AlertSending {
  send: boolean;
}

const HEALTH_CHECK_WORDING: Record<HealthCheckName, { failing: string; passing: string }> = {
  backup_age: { failing: 'no completed backup is recent enough', passing: 'a recent completed backup exists' },
  scheduled_run: {
    failing: 'the last scheduled backup failed or did not run when due',
    passing: 'scheduled backups run',
  },
  drill: {
    failing: 'the last restore drill failed, or none succeeded within its period',
    passing: 'restore drills succeed',
  },
  backup_size: {
    failing: 'the newest backup is empty or under half the size of the previous one',
    passing: 'the newest backup size is plausible',
  },
  storage_total: {
    failing: 'stored backups take more than the configured total',
    passing: 'stored backups fit the configured total',
  },
  read_back: { failing: 'the read-back of the newest backup failed', passing: 'the newest backup reads back' },
};

/** The key of a condition in `alert_states` (and its BullMQ-safe identity): `alert/<type>/<kind>/<id>/<code>`. */
export function conditionKey(condition: AlertCondition): string {
  return alertKey(condition);
}

/** The condition a key names, or `null` for a key this code did not write. */
export function parseConditionKey(key: string): AlertCondition | null {
  const [prefix, type, kind, id, code, ...rest] = key.split('/');
  if (prefix !== 'alert' || rest.length > 0 || !type || !kind || !id || code === undefined) return null;
  const parsed = alertEventSchema.shape.subject.safeParse({ kind, id });
  const typeOk = alertEventSchema.shape.type.safeParse(type);
  if (!parsed.success || !typeOk.success || typeOk.data === 'health.recovered') return null;
  return { type: typeOk.data, subject: parsed.data, ...(code ? { code } : {}) };
}

/**
 * The one-line summary of an event, written from ids and codes only (never a row's content or an
 * upstream error text, which could carry personal data or a key).
 */
export function alertSummary(type: AlertEventType, subject: AlertEvent['subject'], code?: string): string {
  const check = HEALTH_CHECK_WORDING[code as HealthCheckName];
  switch (type) {
    case 'backup.failed':
      return `Backup ${subject.id} failed for good${code ? ` (${code})` : ''}`;
    case 'prune.failed':
      return `Retention prune ${subject.id} failed for good`;
    case 'readback.failed':
      return `Read-back of backup ${subject.id} failed: a stored copy does not match what was written`;
    case 'drill.failed':
      return `Restore drill ${subject.id} failed`;
    case 'health.unhealthy':
      return `Backup health check ${code ?? subject.id} fails: ${check?.failing ?? 'see GET /api/backup/health'}`;
    case 'health.recovered':
      return `Backup health check ${code ?? subject.id} passes again: ${
        check?.passing ?? 'see GET ' + '/api/backup/health'
      }`;
  }
}

/**
 * Raises `condition`: the first time (or again after it was resolved) its `alert_states` row becomes
 * active and, with `send`, a `backup.alert` job is queued to deliver the event; while it is active,
 * raising it again does nothing, so an ongoing condition is announced once. Never throws for a
 * queue outage: the row is put back (inactive) so the next raise tries again, and a warning is logged.
 * @returns whether this call raised it.
 */
export async function raiseAlert(deps: AlertDeps, condition: AlertCondition, opts: AlertSending): Promise<boolean> {
  const key = conditionKey(condition);
  const now = deps.now?.() ?? new Date();
  const created = await deps.prisma.alertState.createMany({
    data: [{ key, active: true, raisedAt: now }],
    skipDuplicates: true,
  });
  const raised =
    created.count === 1 ||
    (
      await deps.prisma.alertState.updateMany({
        where: { key, active: false },
        data: { active: true, raisedAt: now, resolvedAt: null },
      })
    ).count === 1;
  if (!raised) return false;
  if (opts.send && !(await enqueueAlert(deps, key, condition.type))) {
    await deps.prisma.alertState.updateMany({ where: { key, active: true }, data: { active: false } });
  }
  return true;
}

/**
 * Resolves `condition` when it is active: the row becomes inactive and, for a health check with
 * `send`, a `health.recovered` event is queued once. Resolving a condition that is not active does nothing.
 * @returns whether this call resolved it.
 */
export async function resolveAlert(deps: AlertDeps, condition: AlertCondition, opts: AlertSending): Promise<boolean> {
  const key = conditionKey(condition);
  const { count } = await deps.prisma.alertState.updateMany({
    where: { key, active: true },
    data: { active: false, resolvedAt: deps.now?.() ?? new Date() },
  });
  if (count === 0) return false;
  if (opts.send && condition.type === 'health.unhealthy') await enqueueAlert(deps, key, 'health.recovered');
  return true;
}

async function enqueueAlert(deps: AlertDeps, key: string, event: AlertEventType): Promise<boolean> {
  const alertId = randomUUID();
  try {
    await deps.producer.enqueue('backup.alert', { key, event, alertId }, { jobId: alertId });
    return true;
  } catch (err) {
    deps.logger.warn({ key, event, err: (err as Error).message.split('\n')[0] }, 'alert not queued');
    return false;
  }
}

export interface DeliverAlertInput {
  key: string;
  event: string;
  alertId: string;
  url: string;
  secret: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * The `backup.alert` job: rebuilds the event from its condition's key and row (the job carries ids
 * only), POSTs it signed, and stamps `lastSentAt`. The event id is the job's `alertId`, the same on
 * every retry, so a receiver can drop a duplicate delivery (`x-mp-delivery`).
 * @returns `false` when the condition's row is gone or the key is not ours (nothing sent).
 * @throws WebhookDeliveryError (retry) or WebhookRejectedError (final) from {@link sendWebhook}.
 */
export async function deliverAlert(
  deps: { prisma: PrismaClient; now?: () => Date },
  input: DeliverAlertInput,
): Promise<boolean> {
  const condition = parseConditionKey(input.key);
  const type = alertEventSchema.shape.type.safeParse(input.event);
  if (!condition || !type.success) return false;
  const state = await deps.prisma.alertState.findUnique({ where: { key: input.key } });
  if (!state) return false;
  const occurredAt =
    type.data === 'health.recovered' ? (state.resolvedAt ?? deps.now?.() ?? new Date()) : state.raisedAt;
  const event = alertEventSchema.parse({
    id: input.alertId,
    type: type.data,
    occurredAt: occurredAt.toISOString(),
    summary: alertSummary(type.data, condition.subject, condition.code),
    subject: condition.subject,
    ...(condition.code ? { code: condition.code } : {}),
  });
  await sendWebhook({
    url: input.url,
    secret: input.secret,
    event,
    timeoutMs: input.timeoutMs,
    ...(input.fetch ? { fetch: input.fetch } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  await deps.prisma.alertState.update({ where: { key: input.key }, data: { lastSentAt: deps.now?.() ?? new Date() } });
  return true;
}
