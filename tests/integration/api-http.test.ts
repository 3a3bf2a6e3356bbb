import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiTestContext, createUserAndLogin, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';
import { buildApp } from '../../services/api/src/app.js';

describe('HTTP envelope, health, metrics, docs', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));

  it('answers unknown routes with the NOT_FOUND envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ success: false, error: { code: 'NOT_FOUND', message: 'Route GET /nope not found' } });
  });

  it('answers malformed JSON and oversized bodies with envelopes', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    const big = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'a', password: 'x'.repeat(1_100_000) },
    });
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('rejects unknown query parameters and bad ids with 400', async () => {
    const { headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    const q = await app.inject({ method: 'GET', url: '/api/backup/list?sort=asc', headers });
    expect([q.statusCode, q.json().error.details]).toEqual([
      400,
      [{ path: 'querystring.sort', message: 'unknown field' }],
    ]);
    const id = await app.inject({ method: 'GET', url: '/api/backup/not-a-uuid', headers });
    expect([id.statusCode, id.json().error.details[0].path]).toEqual([400, 'params.id']);
  });

  it('serves liveness, readiness and Prometheus metrics without auth', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      success: true,
      data: { status: 'ok' },
    });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect([ready.statusCode, ready.json().data]).toEqual([200, { status: 'ready', database: true, redis: true }]);
    await ctx.deps.prisma.backupRecord.create({ data: { filename: 'm.json', type: 'manual', location: 'local' } });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('process_cpu_seconds_total ');
    expect(metrics.body).toMatch(/http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    // No completed backup yet: the backups are not healthy, and the metric says so.
    expect(metrics.body).toMatch(/^mp_backup_healthy 0$/m);
  });

  it('serves the OpenAPI document and UI at /docs', async () => {
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/backup/create', '/api/backup/list', '/api/auth/login']),
    );
    expect(spec.paths['/api/backup/create'].post.requestBody).toBeDefined();
  });
});

describe('readiness failures and unexpected errors', () => {
  let ctx: ApiTestContext;
  it('answers 503 NOT_READY when Redis is down, and a hidden 500 for an unexpected error', async () => {
    ctx = await createApiTestContext();
    const down = await buildApp({ ...ctx.deps, checkRedis: async () => false });
    const res = await down.inject({ method: 'GET', url: '/readyz' });
    expect([res.statusCode, res.json().error]).toEqual([
      503,
      { code: 'NOT_READY', message: 'Not ready', details: { database: true, redis: false } },
    ]);
    await down.close();

    // A dependency breaking its contract ("never rejects") stands in for any unexpected failure.
    const broken = await buildApp({
      ...ctx.deps,
      checkRedis: () => Promise.reject(new Error('secret internal detail')),
    });
    const boom = await broken.inject({ method: 'GET', url: '/readyz' });
    expect([boom.statusCode, boom.json()]).toEqual([
      500,
      { success: false, error: { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred' } },
    ]);
    expect(ctx.logLines.join('')).toContain('secret internal detail');
    await broken.close();
    await ctx.close();
  });
});
