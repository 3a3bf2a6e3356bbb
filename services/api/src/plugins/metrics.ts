import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { AppError, buildBackupMetrics, checkBackupHealth, healthSettingsOf, loadMetricsFacts } from '@mp/core';
import type { ApiDeps } from '../deps.js';
import { errorResponses } from '../schemas/envelope.js';

const digest = (v: string) => createHash('sha256').update(v).digest();

/**
 * Prometheus text exposition at GET /metrics, with prom-client:
 * - this process: prom-client's default process and Node.js metrics, and `http_requests_total{method,route,status}`
 *   counted on the root instance (routes labelled by their pattern, `/api/backup/:id`, never the raw URL, so
 *   cardinality stays bounded);
 * - backups, read at scrape time from PostgreSQL and the queues (core `buildBackupMetrics`, its own registry per
 *   scrape): `mp_backup_last_success_timestamp_seconds`, `mp_backup_duration_seconds`, `mp_backup_size_bytes`,
 *   `mp_backup_failures_total{kind}`, `mp_restore_drill_last_rto_seconds`, `mp_queue_jobs{queue,state}`,
 *   `mp_queue_up`, `mp_backup_healthy`. A Redis outage leaves the queue series out (`mp_queue_up 0`), never fails it.
 *
 * Nothing here names a person or a file's content (ids and counts only), so it is open by default like most
 * scrape targets; with `METRICS_TOKEN` set it wants `Authorization: Bearer <token>` (else 401 UNAUTHORIZED).
 */
export function registerMetrics(app: FastifyInstance, deps: Pick<ApiDeps, 'prisma' | 'producer' | 'config'>): void {
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [processRegistry],
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });

  const token = deps.config.METRICS_TOKEN;
  const expected = token ? digest(`Bearer ${token}`) : null;
  const settings = healthSettingsOf(deps.config);

  const schema = {
    tags: ['health'],
    summary: 'Prometheus metrics (process, HTTP requests, backups, queues)',
    description:
      'Open unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>` (not a login token), else 401 ' +
      'UNAUTHORIZED.',
    security: token ? [{ bearerAuth: [] }] : [],
    response: {
      200: {
        description: 'Prometheus text exposition format 0.0.4',
        content: {
          'text/plain': {
            schema: z.string().meta({
              example:
                '# HELP mp_backup_healthy 1 when every backup health check passes.\n# TYPE mp_backup_healthy ' +
                'gauge\nmp_backup_healthy 1\n',
            }),
          },
        },
      },
      ...errorResponses(['UNAUTHORIZED', 'INTERNAL_ERROR']),
    },
  };
  app.get('/metrics', { schema }, async (request, reply) => {
    if (expected && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      throw new AppError('UNAUTHORIZED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
    }
    const health = await checkBackupHealth(deps, { timezone: deps.config.BACKUP_TIMEZONE, settings });
    const facts = await loadMetricsFacts(deps, { healthy: health.healthy });
    const merged = Registry.merge([processRegistry, buildBackupMetrics(facts)]);
    return reply.type(merged.contentType).send(await merged.metrics());
  });
}
