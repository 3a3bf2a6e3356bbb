import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '@mp/jobs';
import { createUserAndLogin, type ApiTestContext } from '@mp/testing';
import { buildApp } from '../../services/api/src/app.js';
import { buildConsole } from '../../scripts/build.mjs';
import { startApiApp, stopApiApp } from './api-harness.js';

/** The `mp_queues` cookie a successful POST /api/system/queue-dashboard/session sets, and its attributes. */
function queueCookie(res: { headers: Record<string, unknown> }) {
  const header = [res.headers['set-cookie']].flat().find((c) => typeof c === 'string' && c.startsWith('mp_queues=')) as
    | string
    | undefined;
  if (!header) throw new Error('no mp_queues cookie set');
  return { value: header.split(';')[0]!.slice('mp_queues='.length), attributes: header };
}

describe('queue dashboard (/admin/queues): admins only, read-only by default', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let admin: Awaited<ReturnType<typeof createUserAndLogin>>;
  let cookie: string;

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
    admin = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
  });
  afterAll(() => stopApiApp(ctx, app));

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  it('refuses anonymous requests, forged cookies and non-admins, with the error envelope', async () => {
    for (const url of [
      '/admin/queues',
      '/admin/queues/',
      '/admin/queues/api/queues',
      `/admin/queues/api/queues/${QUEUES.backup}/x/logs`,
    ]) {
      const res = await get(url);
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, 401, 'UNAUTHORIZED']);
    }
    expect((await get('/admin/queues/api/queues', { cookie: 'mp_queues=not.a.token' })).statusCode).toBe(401);
    for (const role of ['SUPERVISOR', 'CREDIT_OFFICER'] as const) {
      const other = await createUserAndLogin(app, ctx.deps.prisma, role);
      const direct = await get('/admin/queues/api/queues', other.headers);
      expect([role, direct.statusCode, direct.json().error.code]).toEqual([role, 403, 'FORBIDDEN']);
      const session = await app.inject({
        method: 'POST',
        url: '/api/system/queue-dashboard/session',
        headers: other.headers,
      });
      expect([role, session.statusCode, session.headers['set-cookie']]).toEqual([role, 403, undefined]);
    }
  });

  it(
    'an admin gets a short-lived HttpOnly, SameSite=Strict cookie scoped to /admin/queues, and the dashboard with ' +
      'it',
    async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/system/queue-dashboard/session',
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().data.url).toBe('/admin/queues/');
      const c = queueCookie(res);
      expect(c.attributes).toMatch(/; Path=\/admin\/queues(;|$)/);
      expect(c.attributes).toMatch(/; HttpOnly/);
      expect(c.attributes).toMatch(/; SameSite=Strict/);
      expect(Number(/Max-Age=(\d+)/.exec(c.attributes)?.[1])).toBeLessThanOrEqual(900);
      cookie = `mp_queues=${c.value}`;

      const page = await get('/admin/queues/', { cookie });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      const queues = await get('/admin/queues/api/queues', { cookie });
      expect(queues.statusCode).toBe(200);
      const listed = (queues.json() as { queues: { name: string; readOnlyMode: boolean }[] }).queues;
      expect(listed.map((q) => q.name).sort()).toEqual(Object.values(QUEUES).sort());
      expect(listed.every((q) => q.readOnlyMode)).toBe(true);
      // A bearer token works too (scripts), and a bearer token is no cookie: the two are signed apart.
      expect((await get('/admin/queues/api/queues', admin.headers)).statusCode).toBe(200);
      expect((await get('/admin/queues/api/queues', { cookie: `mp_queues=${admin.token}` })).statusCode).toBe(401);
      expect((await get('/api/backup/list', { authorization: `Bearer ${c.value}` })).statusCode).toBe(401);
    },
  );

  it('read-only: pausing a queue is refused and the queue keeps running', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${QUEUES.backup}/pause`,
      headers: { cookie },
    });
    expect(res.statusCode).toBe(405);
    expect(await ctx.deps.producer.queue(QUEUES.backup).isPaused()).toBe(false);
  });

  it('BULL_BOARD_READ_ONLY=false lets an admin act on queues', async () => {
    const writable = await buildApp({ ...ctx.deps, config: { ...ctx.deps.config, BULL_BOARD_READ_ONLY: false } });
    try {
      const queue = ctx.deps.producer.queue(QUEUES.maintenance);
      expect(
        (
          await writable.inject({
            method: 'PUT',
            url: `/admin/queues/api/queues/${QUEUES.maintenance}/pause`,
            headers: { cookie },
          })
        ).statusCode,
      ).toBe(200);
      expect(await queue.isPaused()).toBe(true);
      await queue.resume();
    } finally {
      await writable.close();
    }
  });

  it('a logout ends the dashboard cookie too', async () => {
    const other = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    const c = queueCookie(
      await app.inject({ method: 'POST', url: '/api/system/queue-dashboard/session', headers: other.headers }),
    );
    expect((await get('/admin/queues/api/queues', { cookie: `mp_queues=${c.value}` })).statusCode).toBe(200);
    await app.inject({ method: 'POST', url: '/api/auth/logout', headers: other.headers });
    expect((await get('/admin/queues/api/queues', { cookie: `mp_queues=${c.value}` })).statusCode).toBe(401);
  });
});

describe('console static files (/admin)', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    await buildConsole({ onlyIfStale: true });
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));

  it(
    'serves index.html revalidated and hashed assets immutable, under a strict CSP; anonymous may load ' + 'them',
    async () => {
      const bare = await app.inject({ method: 'GET', url: '/admin' });
      expect([bare.statusCode, bare.headers.location]).toEqual([301, '/admin/']);
      const index = await app.inject({ method: 'GET', url: '/admin/' });
      expect(index.statusCode).toBe(200);
      expect(index.headers['cache-control']).toBe('no-cache');
      expect(index.headers['content-security-policy']).toContain("script-src 'self'");
      expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(index.body)?.[1];
      expect(asset).toBeTruthy();
      const js = await app.inject({ method: 'GET', url: `/admin/${asset}` });
      expect(js.statusCode).toBe(200);
      expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect((await app.inject({ method: 'GET', url: '/admin/../package.json' })).statusCode).toBeGreaterThanOrEqual(
        400,
      );
    },
  );

  it('says how to build the console when it is not built', async () => {
    const unbuilt = await buildApp({
      ...ctx.deps,
      config: { ...ctx.deps.config, CONSOLE_DIR: '/nonexistent/console' },
    });
    try {
      const res = await unbuilt.inject({ method: 'GET', url: '/admin/' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
    } finally {
      await unbuilt.close();
    }
  });
});
