import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from '@mp/jobs';
import {
  alertKey,
  createAlertEvent,
  sendWebhook,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookDeliveryError,
  WebhookRejectedError,
  type AlertEvent,
} from './webhook.js';

const SECRET = 'whsec_test_4f1c9a';
const BACKUP_ID = '5b0e8c1e-6a53-4d0c-9d7e-0f1a2b3c4d5e';

/** What the receiver saw: the raw body, its headers, and whether the signature checked out. */
interface Received {
  body: string;
  headers: IncomingHttpHeaders;
  signed: boolean;
}

// A real receiver on 127.0.0.1:0 that checks every signature as a customer's would; `answer` sets its reply.
let server: Server;
let base: string;
const received: Received[] = [];
let answer: { status: number; headers?: Record<string, string> } | 'hang' = { status: 204 };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[WEBHOOK_SIGNATURE_HEADER];
      received.push({
        body,
        headers: req.headers,
        signed: verifyWebhookSignature({ body, header: String(header), secret: SECRET }),
      });
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.headers).end('receiver says no');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  received.length = 0;
  answer = { status: 204 };
  server.closeAllConnections();
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const event = (over: Partial<Omit<AlertEvent, 'id' | 'occurredAt'>> = {}): AlertEvent =>
  createAlertEvent({
    type: 'backup.failed',
    summary: 'Backup failed: STORAGE_ERROR',
    subject: { kind: 'backup', id: BACKUP_ID },
    code: 'STORAGE_ERROR',
    ...over,
  });

const send = (e: AlertEvent, url = `${base}/hooks/T0K3N-in-path`, timeoutMs = 5000) =>
  sendWebhook({ url, secret: SECRET, event: e, timeoutMs });

describe('sendWebhook to a real receiver', () => {
  it('POSTs the event as JSON, signed, once', async () => {
    const e = event();
    await send(e);
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r!.signed).toBe(true);
    expect(JSON.parse(r!.body)).toEqual(e);
    expect(r!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-mp-event': 'backup.failed',
      'x-mp-delivery': e.id,
    });
    expect(Object.keys(JSON.parse(r!.body)).sort()).toEqual(['code', 'id', 'occurredAt', 'subject', 'summary', 'type']);
  });

  it.each([500, 502, 503, 408, 429])('throws a retryable error on %i', async (status) => {
    answer = { status };
    const err = await send(event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookDeliveryError);
    expect(err).not.toBeInstanceOf(UnrecoverableError);
    expect(err).toMatchObject({
      retryable: true,
      status,
      message: `Alert webhook to ${new URL(base).host} answered ${status}`,
    });
  });

  it.each([400, 401, 404, 410, 422])('throws a permanent error (UnrecoverableError) on %i', async (status) => {
    answer = { status };
    const err = await send(event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookRejectedError);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err).toMatchObject({ retryable: false, status });
  });

  it('does not follow a redirect: it is a permanent error', async () => {
    answer = { status: 301, headers: { location: `${base}/elsewhere` } };
    await expect(send(event())).rejects.toMatchObject({ name: 'WebhookRejectedError', status: 301 });
    expect(received).toHaveLength(1);
  });

  it('throws a retryable error when the receiver does not answer in time', async () => {
    answer = 'hang';
    const err = await send(event(), undefined, 200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookDeliveryError);
    expect((err as Error).message).toBe(`Alert webhook to ${new URL(base).host}: no answer within 200 ms`);
  });

  it('throws a retryable error when nothing listens, naming the host but never the path', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const err = await send(event(), `http://127.0.0.1:${port}/hooks/T0K3N-in-path`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookDeliveryError);
    expect((err as Error).message).toBe(`Alert webhook to 127.0.0.1:${port}: network failure`);
    expect((err as Error).message).not.toContain('T0K3N');
  });

  it('refuses an invalid URL permanently', async () => {
    await expect(send(event(), 'ftp://example.test/x')).rejects.toBeInstanceOf(WebhookRejectedError);
  });
});

describe('signatures', () => {
  const body = JSON.stringify({ hello: 'world' });
  const at = new Date('2026-06-10T12:00:00Z');

  it('verifies its own signature and refuses a changed body, another secret, or a malformed header', () => {
    const header = signWebhook(body, SECRET, at);
    expect(header).toMatch(/^t=1781092800,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, now: at })).toBe(true);
    expect(verifyWebhookSignature({ body: body.replace('world', 'World'), header, secret: SECRET, now: at })).toBe(
      false,
    );
    expect(verifyWebhookSignature({ body, header, secret: 'other', now: at })).toBe(false);
    for (const bad of [
      undefined,
      '',
      'v1=abc',
      't=1781092800',
      `t=x,${header.split(',')[1]}`,
      header.replace('v1=', 'v0='),
    ]) {
      expect(verifyWebhookSignature({ body, header: bad, secret: SECRET, now: at })).toBe(false);
    }
  });

  it('refuses a replay outside the tolerance, since the timestamp is signed too', () => {
    const header = signWebhook(body, SECRET, at);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, now: new Date(at.getTime() + 299_000) })).toBe(true);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, now: new Date(at.getTime() + 301_000) })).toBe(false);
    const v1 = header.split(',')[1];
    const moved = `t=${1781092800 + 3600},${v1}`;
    expect(
      verifyWebhookSignature({ body, header: moved, secret: SECRET, now: new Date(at.getTime() + 3600_000) }),
    ).toBe(false);
  });

  it('accepts any one of several v1 signatures (secret rotation)', () => {
    const header = signWebhook(body, SECRET, at);
    const old = signWebhook(body, 'previous-secret', at).split(',')[1];
    expect(verifyWebhookSignature({ body, header: `${header},${old}`, secret: SECRET, now: at })).toBe(true);
    expect(verifyWebhookSignature({ body, header: `${header},${old}`, secret: 'previous-secret', now: at })).toBe(true);
  });
});

describe('events and their keys', () => {
  it('refuse extra fields, addresses and credentials', () => {
    expect(() => event({ summary: 'Backup failed for ada@example.com' })).toThrow(/address or credentials/);
    expect(() => event({ summary: 'Upload to https://key:secret@api.example.test failed' })).toThrow(
      /address or credentials/,
    );
    expect(() => createAlertEvent({ ...event(), member: 'Ada' } as never)).toThrow();
    expect(() => event({ type: 'backup.exploded' as never })).toThrow();
  });

  it('give one key per ongoing condition, without ":" (BullMQ job ids)', () => {
    const a = event();
    const b = event();
    expect(a.id).not.toBe(b.id);
    expect(alertKey(a)).toBe(alertKey(b));
    expect(alertKey(a)).toBe(`alert/backup.failed/backup/${BACKUP_ID}/STORAGE_ERROR`);
    expect(alertKey(event({ subject: { kind: 'backup', id: 'other' } }))).not.toBe(alertKey(a));
    const unhealthy = (code: string) =>
      event({
        type: 'health.unhealthy',
        summary: 'Backups unhealthy',
        subject: { kind: 'health', id: 'backups' },
        code,
      });
    expect(alertKey(unhealthy('backup_age'))).toBe(alertKey(unhealthy('backup_age')));
    expect(alertKey(unhealthy('backup_age,read_back'))).not.toBe(alertKey(unhealthy('backup_age')));
    expect(alertKey(event({ code: 'A:B' }))).not.toContain(':');
  });
});
