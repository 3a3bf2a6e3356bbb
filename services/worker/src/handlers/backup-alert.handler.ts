import type { Job } from 'bullmq';
import { deliverAlert } from '@mp/core';
import type { JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';

/**
 * `backup.alert`: POSTs one alert event, signed, to BACKUP_ALERT_WEBHOOK_URL. A network failure, timeout, 5xx,
 * 408 or 429 is rethrown so BullMQ retries with backoff (the catalog's attempts); another 4xx is final. With no
 * webhook configured (it was unset since the alert was queued), nothing is sent.
 */
export async function handleBackupAlert(job: Job<JobPayload<'backup.alert'>>, deps: WorkerDeps) {
  const url = deps.config.BACKUP_ALERT_WEBHOOK_URL;
  const secret = deps.config.BACKUP_ALERT_WEBHOOK_SECRET;
  if (!url || !secret) return { sent: false, reason: 'no webhook configured' };
  const sent = await deliverAlert(deps, {
    ...job.data,
    url,
    secret,
    timeoutMs: deps.config.BACKUP_ALERT_WEBHOOK_TIMEOUT_MS,
  });
  return sent ? { sent: true, event: job.data.event } : { sent: false, reason: 'the alert condition is unknown' };
}
