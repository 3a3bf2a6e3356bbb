import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';

export const ALERT_EVENT_TYPES = [
  'backup.failed',
  'prune.failed',
  'readback.failed',
  'drill.failed',
  'health.unhealthy',
  'health.recovered',
] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, like Stripe's. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-mp-signature';
/** Receivers should refuse a signature older (or newer) than this: it bounds replays. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

// An address or a URL with credentials in a summary is personal data or a secret: refuse it outright.
const LEAKY = /[^\s@/]+@[^\s@]+|:\/\/[^\s/]*:[^\s/]*@/;

/**
 * One alert. Only ids, counts and codes: `summary` is written by our code from those (never from a
 * row's content or an upstream error text, which can carry personal data or a key), and `code` is
 * an error code or a health check name. Strict: an extra field is refused, not sent.
 */
export const alertEventSchema = z
  .object({
    id: z.uuid(),
    type: z.enum(ALERT_EVENT_TYPES),
    occurredAt: z.iso.datetime(),
    summary: z
      .string()
      .min(1)
      .max(300)
      .refine((s) => !LEAKY.test(s), 'summary must not carry an address or credentials'),
    subject: z
      .object({ kind: z.enum(['backup', 'operation', 'drill', 'health']), id: z.string().min(1).max(100) })
      .strict(),
    code: z.string().max(100).optional(),
  })
  .strict();
export type AlertEvent = z.output<typeof alertEventSchema>;

/** A new event with a fresh id, occurring `now`; validated, so a leaky summary throws here, before any queue. */
export function createAlertEvent(input: Omit<AlertEvent, 'id' | 'occurredAt'>, now: Date = new Date()): AlertEvent {
  return alertEventSchema.parse({ ...input, id: randomUUID(), occurredAt: now.toISOString() });
}

/**
 * Identity of the condition an event reports, for dedupe: the same ongoing condition gives the same
 * key (type, subject and code; not the event id or time). Usable as a BullMQ job id (no `:`).
 * For health, put the sorted names of the failing checks in `code` if a new failure should alert again.
 */
export function alertKey(event: Pick<AlertEvent, 'type' | 'subject' | 'code'>): string {
  return ['alert', event.type, event.subject.kind, event.subject.id, event.code ?? '']
    .map((part) => part.replaceAll(':', '_'))
    .join('/');
}

function hmacHex(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

/**
 * The signature header value for `body` sent at `timestamp`: `t=<unix seconds>,v1=<hex>`, the HMAC
 * covering the timestamp so a captured request cannot be replayed later with a new one.
 * Trap: sign the exact bytes sent; re-serializing the JSON on either side breaks the signature.
 */
export function signWebhook(body: string, secret: string, timestamp: Date | number): string {
  const t = typeof timestamp === 'number' ? Math.floor(timestamp) : Math.floor(timestamp.getTime() / 1000);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/**
 * For receivers: true when `header` holds a `v1` HMAC of `body` under `secret` (any one of several,
 * for secret rotation) and its `t` lies within `toleranceSeconds` of `now`. Constant-time comparison;
 * a malformed header is simply false.
 */
export function verifyWebhookSignature(input: {
  body: string;
  header: string | undefined;
  secret: string;
  now?: Date;
  toleranceSeconds?: number;
}): boolean {
  if (!input.header) return false;
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of input.header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) candidates.push(v);
  }
  if (t === undefined || candidates.length === 0) return false;
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - t) > (input.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(hmacHex(input.secret, t, input.body), 'hex');
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
}

/**
 * A delivery that may succeed later (network failure, timeout, 5xx, 408, 429): rethrow it so BullMQ retries with
 * backoff.
 */
export class WebhookDeliveryError extends Error {
  readonly retryable = true;
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'WebhookDeliveryError';
  }
}

/**
 * The receiver refused the event (another 4xx, or a redirect), or the URL is invalid: retrying cannot help, so BullMQ
 * does not.
 */
export class WebhookRejectedError extends UnrecoverableError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'WebhookRejectedError';
  }
}

export interface SendWebhookInput {
  url: string;
  secret: string;
  event: AlertEvent;
  timeoutMs: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  now?: () => Date;
}

/**
 * POSTs `event` as JSON to `url`, signed ({@link WEBHOOK_SIGNATURE_HEADER}), with `x-mp-event` (the
 * type) and `x-mp-delivery` (the event id, for the receiver's own dedupe). Resolves on 2xx.
 * Throws {@link WebhookDeliveryError} (retryable) on a network failure, a timeout, 5xx, 408 or 429,
 * and {@link WebhookRejectedError} (a BullMQ `UnrecoverableError`) on any other status, redirects
 * included (they are not followed: a webhook that moved is a configuration error).
 *
 * Error messages name the host only: webhook URLs often carry a token in their path. Never call it
 * inside a backup job: enqueue an alert job, so a slow receiver never blocks the work it reports on.
 */
export async function sendWebhook(input: SendWebhookInput): Promise<void> {
  const event = alertEventSchema.parse(input.event);
  const body = JSON.stringify(event);
  const host = hostOf(input.url);
  if (!host) throw new WebhookRejectedError('The alert webhook URL is not a valid http(s) URL', null);
  const doFetch = input.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(input.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mp-backup-alerts/1',
        'x-mp-event': event.type,
        'x-mp-delivery': event.id,
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(body, input.secret, input.now?.() ?? new Date()),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
    });
  } catch (err) {
    const name = (err as Error).name;
    const why =
      name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${input.timeoutMs} ms` : 'network failure';
    throw new WebhookDeliveryError(`Alert webhook to ${host}: ${why}`, null);
  }
  // The receiver's body is not ours to log (and may be large): release the connection without reading it.
  await res.body?.cancel().catch(() => {});
  if (res.status >= 200 && res.status < 300) return;
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new WebhookDeliveryError(`Alert webhook to ${host} answered ${res.status}`, res.status);
  }
  throw new WebhookRejectedError(`Alert webhook to ${host} refused the event with ${res.status}`, res.status);
}

function hostOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.host : null;
  } catch {
    return null;
  }
}
