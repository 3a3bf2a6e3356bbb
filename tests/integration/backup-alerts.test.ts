// Alerts end to end, in this process: the worker's own start-up code and real handlers, a local HTTP receiver
// (node:http) standing in for the webhook, real PostgreSQL and Redis. Each alert arrives once, signed; a receiver
// that answers 500 gets the same event again (retry with backoff); an ongoing condition is not sent twice; health
// recovering sends one "recovered" event; the webhook secret reaches no log, no job and no payload.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertEventSchema,
  raiseAlert,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  type AlertEvent,
} from '@mp/core';
import { QUEUES, type Producer } from '@mp/jobs';
import { createLogger } from '@mp/logger';
import { recordSecret, scanQueueData, waitFor, waitForSettledJob, type TestDatabase } from '@mp/testing';
import type { WorkerDeps } from '../../services/worker/src/deps.js';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  answered: number;
}

const secret = randomBytes(24).toString('base64url');
const urlToken = randomBytes(12).toString('hex');
let db: TestDatabase;
let producer: Producer;
let worker: InProcessWorker;
let server: Server;
let deps: WorkerDeps;
const deliveries: Delivery[] = [];
const logLines: string[] = [];
/** How many of the next requests the receiver answers 500. */
let failNext = 0;

/** Events answered 2xx, in arrival order, each checked against its signature. */
function accepted(): AlertEvent[] {
  return deliveries.filter((d) => d.answered < 300).map((d) => alertEventSchema.parse(JSON.parse(d.body)));
}

async function runHealthCheck(): Promise<{ healthy: boolean; raised: string[]; resolved: string[] }> {
  const jobId = `hc-${randomUUID()}`;
  await producer.enqueue('backup.health-check', {}, { jobId });
  const done = await waitForSettledJob(producer.queue(QUEUES.backup), jobId, 20_000);
  if (done.state === 'failed') throw new Error(`health check failed: ${done.reason}`);
  return done.value as { healthy: boolean; raised: string[]; resolved: string[] };
}

/** Every backup-queue job has finished (no alert still waiting for its retry, no health check pending). */
async function idle(): Promise<boolean> {
  const counts = await producer.queue(QUEUES.backup).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
}

async function alertJobs(): Promise<number> {
  const jobs = await producer.queue(QUEUES.backup).getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
  return jobs.filter((j) => j?.name === 'backup.alert').length;
}

beforeAll(async () => {
  recordSecret('BACKUP_ALERT_WEBHOOK_SECRET', secret);
  recordSecret('webhook URL token', urlToken);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = failNext > 0 ? 500 : 204;
      if (failNext > 0) failNext--;
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res.statusCode = answered;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  worker = await startInProcessWorker({
    prefix: 'al',
    poolMax: 4,
    env: {
      LOG_LEVEL: 'info',
      BACKUP_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/mp/${urlToken}`,
      BACKUP_ALERT_WEBHOOK_SECRET: secret,
    },
    logger: createLogger({ level: 'info', destination }),
  });
  ({ db, producer, deps } = worker);
});

afterAll(async () => {
  await worker?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('alerts', () => {
  it('announces each failing health check once, signed, retrying a receiver that answered 500', async () => {
    // A fresh installation: no completed backup and no drill yet; the daily schedule was just set (nothing due).
    failNext = 1;
    const first = await runHealthCheck();
    expect(first.healthy).toBe(false);
    expect(first.raised.sort()).toEqual(['backup_age', 'drill']);
    await waitFor(async () => accepted().length === 2 && (await idle()), 40_000);

    const events = accepted();
    expect(events.map((e) => `${e.type} ${e.code}`).sort()).toEqual([
      'health.unhealthy backup_age',
      'health.unhealthy drill',
    ]);
    // Three requests: the one answered 500 came again, as the same event (same delivery id), after a backoff.
    expect(deliveries).toHaveLength(3);
    expect(deliveries[0]!.answered).toBe(500);
    const retried = deliveries.filter((d) => d.headers['x-mp-delivery'] === deliveries[0]!.headers['x-mp-delivery']);
    expect(retried.map((d) => d.answered)).toEqual([500, 204]);
    for (const d of deliveries) {
      const header = d.headers[WEBHOOK_SIGNATURE_HEADER] as string;
      expect(verifyWebhookSignature({ body: d.body, header, secret })).toBe(true);
      expect(verifyWebhookSignature({ body: d.body, header, secret: `${secret}x` })).toBe(false);
      const event = JSON.parse(d.body) as AlertEvent;
      expect(d.headers['x-mp-delivery']).toBe(event.id);
      expect(d.headers['x-mp-event']).toBe(event.type);
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.body).not.toContain(secret);
      expect(d.body).not.toContain(urlToken);
    }
    expect(events[0]!.summary).toMatch(/^Backup health check (backup_age|drill) fails: /);

    // The same conditions, still ongoing: nothing is raised or sent again.
    const second = await runHealthCheck();
    expect(second).toMatchObject({ healthy: false, raised: [], resolved: [] });
    await waitFor(idle, 10_000);
    expect(await alertJobs()).toBe(2);
    expect(deliveries).toHaveLength(3);
    const states = await db.prisma.alertState.findMany({ orderBy: { key: 'asc' } });
    expect(states.map((s) => [s.key, s.active, s.lastSentAt !== null])).toEqual([
      ['alert/health.unhealthy/health/backup_age/backup_age', true, true],
      ['alert/health.unhealthy/health/drill/drill', true, true],
    ]);
  });

  it('sends one "recovered" event per check when health recovers, and nothing more after', async () => {
    const now = new Date();
    await db.prisma.backupRecord.create({
      data: {
        filename: 'backup_ok.json',
        type: 'manual',
        location: 'local',
        status: 'completed',
        completedAt: now,
        fileSize: 100n,
        storage: {},
      },
    });
    await db.prisma.operation.create({
      data: { kind: 'drill', status: 'completed', completedAt: now, result: { ok: true, rtoSeconds: 3 } },
    });

    const third = await runHealthCheck();
    expect(third.healthy).toBe(true);
    expect(third.resolved.sort()).toEqual(['backup_age', 'drill']);
    await waitFor(async () => accepted().length === 4 && (await idle()), 20_000);
    const recovered = accepted().slice(2);
    expect(recovered.map((e) => `${e.type} ${e.code}`).sort()).toEqual([
      'health.recovered backup_age',
      'health.recovered drill',
    ]);
    expect(recovered[0]!.summary).toMatch(/passes again/);

    const fourth = await runHealthCheck();
    expect(fourth).toMatchObject({ healthy: true, raised: [], resolved: [] });
    await waitFor(idle, 10_000);
    expect(accepted()).toHaveLength(4);
    expect((await db.prisma.alertState.findMany()).every((s) => !s.active && s.resolvedAt !== null)).toBe(true);
  });

  it('announces a backup that failed for good once, from the worker failure path, without blocking it', async () => {
    // Cloud storage is not configured: the backup fails at once, for good (no retry can fix it).
    const record = await db.prisma.backupRecord.create({
      data: { filename: 'backup_cloud.json', type: 'manual', location: 'cloud' },
    });
    await producer.enqueue('backup.create', { backupId: record.id }, { jobId: record.id });
    await waitFor(async () => accepted().length === 5 && (await idle()), 20_000);
    const event = accepted()[4]!;
    expect(event).toMatchObject({
      type: 'backup.failed',
      subject: { kind: 'backup', id: record.id },
      code: 'backup.create',
    });
    expect(event.summary).toBe(`Backup ${record.id} failed for good (backup.create)`);
    expect((await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: record.id } })).status).toBe('failed');

    // Raised again (a second failure report of the same backup): already active, not sent again.
    const again = await raiseAlert(
      deps,
      { type: 'backup.failed', subject: { kind: 'backup', id: record.id }, code: 'backup.create' },
      { send: true },
    );
    expect(again).toBe(false);
    await waitFor(idle, 10_000);
    expect(accepted()).toHaveLength(5);
    expect(await alertJobs()).toBe(5);
  });

  it('keeps the webhook secret and URL out of every log line and every job in Redis', async () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain(urlToken);
    }
    expect(await scanQueueData(deps.config.REDIS_URL, deps.config.QUEUE_PREFIX)).toBe('');
    const jobs = await producer.queue(QUEUES.backup).getJobs(['completed', 'failed']);
    for (const job of jobs) expect(JSON.stringify(job?.data ?? {})).not.toContain(urlToken);
  });
});
