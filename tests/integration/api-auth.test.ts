import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUser, createUserAndLogin, loginAs, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A hand-made HS256 JWT, so tests can forge expired or wrongly signed tokens. */
function signHs256(payload: object, secret: string): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** Every /api/backup/* and /api/system/* route the app registered, read from the router itself. */
function adminRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const sample: Record<string, string> = {
    id: randomUUID(),
    jobId: randomUUID(),
    entityType: 'user',
    entityId: randomUUID(),
  };
  return app
    .printRoutes({ commonPrefix: false })
    .split('\n')
    .flatMap((line) => {
      const m = /(\/api\/(?:backup|system)\S*) \(([^)]+)\)/.exec(line);
      if (!m) return [];
      const url = (m[1] as string).replace(/:(\w+)/g, (_, p: string) => sample[p] ?? 'x');
      return (m[2] as string)
        .split(', ')
        .filter((v) => v !== 'HEAD')
        .map((method) => ({ method, url }));
    });
}

describe('auth', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  const list = (headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: '/api/backup/list', headers });

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp({ logLevel: 'trace' }));
  });
  afterAll(() => stopApiApp(ctx, app));
  beforeEach(async () => {
    await resetDatabase(ctx.db.pool);
  });

  it('logs in: token bound to a new session, user without hash, lastLoginAt set', async () => {
    const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.success).toBe(true);
    expect(body.data.user).toMatchObject({ id: user.id, username: user.username, role: 'ADMIN' });
    expect(body.data.user).not.toHaveProperty('passwordHash');
    const sessions = await ctx.deps.prisma.session.findMany({ where: { userId: user.id } });
    expect(sessions).toHaveLength(1);
    const ttlMs = ctx.deps.config.JWT_TTL_SECONDS * 1000;
    expect(Math.abs(sessions[0]!.expiresAt.getTime() - (Date.now() + ttlMs))).toBeLessThan(10_000);
    expect(new Date(body.data.expiresAt).getTime()).toBe(sessions[0]!.expiresAt.getTime());
    const payload = JSON.parse(Buffer.from(body.data.token.split('.')[1], 'base64url').toString());
    expect(payload).toMatchObject({ sub: user.id, sid: sessions[0]!.id, role: 'ADMIN', username: user.username });
    expect((await ctx.deps.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lastLoginAt).not.toBeNull();
    expect((await list({ authorization: `Bearer ${body.data.token}` })).statusCode).toBe(200);
  });

  it('answers the same for a wrong password and an unknown username', async () => {
    const { user } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    const wrongPassword = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password: 'Nope-nope-123' },
    });
    const wrongUser = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'nobody', password: 'Nope-nope-123' },
    });
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json()).toEqual(wrongUser.json());
    expect(wrongPassword.json().error.code).toBe('INVALID_CREDENTIALS');
    expect(await ctx.deps.prisma.session.count()).toBe(0);
  });

  it('refuses an inactive user at login and ends their live sessions', async () => {
    const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    const token = await loginAs(app, { username: user.username, password });
    await ctx.deps.prisma.user.update({ where: { id: user.id }, data: { isActive: false } });
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password },
    });
    expect(res.json().error.code).toBe('INVALID_CREDENTIALS');
    const after = await list({ authorization: `Bearer ${token}` });
    expect([after.statusCode, after.json().error.code]).toEqual([401, 'SESSION_EXPIRED']);
  });

  it('rejects a missing, malformed, wrongly signed or expired token', async () => {
    const admin = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    const sid = (await ctx.deps.prisma.session.findFirstOrThrow({ where: { userId: admin.user.id } })).id;
    const claims = { sub: admin.user.id, sid, role: 'ADMIN', username: admin.user.username };
    const now = Math.floor(Date.now() / 1000);

    const none = await list();
    expect([none.statusCode, none.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
    const garbage = await list({ authorization: 'Bearer not.a.jwt' });
    expect([garbage.statusCode, garbage.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
    const forged = await list({
      authorization: `Bearer ${signHs256({ ...claims, iat: now, exp: now + 600 }, 'x'.repeat(40))}`,
    });
    expect([forged.statusCode, forged.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
    const expired = await list({
      authorization: `Bearer ${signHs256({ ...claims, iat: now - 600, exp: now - 60 }, ctx.deps.config.JWT_SECRET)}`,
    });
    expect([expired.statusCode, expired.json().error.code]).toEqual([401, 'SESSION_EXPIRED']);
    const valid = await list({
      authorization: `Bearer ${signHs256({ ...claims, iat: now, exp: now + 600 }, ctx.deps.config.JWT_SECRET)}`,
    });
    expect(valid.statusCode).toBe(200);
  });

  it('stops a token at once after logout, session deletion or revocation', async () => {
    const a = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    expect((await list(a.headers)).statusCode).toBe(200);
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: a.headers });
    expect(out.statusCode).toBe(200);
    const afterLogout = await list(a.headers);
    expect([afterLogout.statusCode, afterLogout.json().error.code]).toEqual([401, 'SESSION_EXPIRED']);
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout' })).statusCode).toBe(401);

    const b = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    await ctx.deps.prisma.session.deleteMany({ where: { userId: b.user.id } });
    expect((await list(b.headers)).statusCode).toBe(401);

    const c = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    await ctx.deps.prisma.session.updateMany({ where: { userId: c.user.id }, data: { revokedAt: new Date() } });
    expect((await list(c.headers)).statusCode).toBe(401);
  });

  it('checks the role on every request against the database, not the token', async () => {
    const a = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN');
    await ctx.deps.prisma.user.update({ where: { id: a.user.id }, data: { role: 'SUPERVISOR' } });
    const res = await list(a.headers);
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('requires ADMIN on every /api/backup/* and /api/system/* route', async () => {
    const routes = adminRoutes(app);
    const expected = [
      'POST /api/backup/create',
      'GET /api/backup/list',
      'POST /api/backup/restore',
      'POST /api/backup/reset',
      'GET /api/system/status',
    ];
    for (const e of expected) expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(e);
    expect(routes.length).toBeGreaterThanOrEqual(9);
    const supervisor = await createUserAndLogin(app, ctx.deps.prisma, 'SUPERVISOR');
    const officer = await createUserAndLogin(app, ctx.deps.prisma, 'CREDIT_OFFICER');
    for (const route of routes) {
      const method = route.method as 'GET';
      const anonymous = await app.inject({ method, url: route.url, payload: method === 'GET' ? undefined : {} });
      expect([route, anonymous.statusCode, anonymous.json().error.code]).toEqual([route, 401, 'UNAUTHORIZED']);
      for (const who of [supervisor, officer]) {
        const res = await app.inject({
          method,
          url: route.url,
          headers: who.headers,
          payload: method === 'GET' ? undefined : {},
        });
        expect([route, res.statusCode, res.json().error.code]).toEqual([route, 403, 'FORBIDDEN']);
      }
    }
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(0);
    expect(await ctx.deps.prisma.operation.count()).toBe(0);
  });

  it('validates the login body and lists each bad field', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'x', extra: true } });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('VALIDATION_ERROR');
    const paths = error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.password', 'body.extra']));
  });

  it('never logs the password, the token or the JWT secret', async () => {
    const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN', password: 'Very-Secret-Pass-987' });
    ctx.logLines.length = 0;
    const token = await loginAs(app, { username: user.username, password });
    await list({ authorization: `Bearer ${token}` });
    await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password: 'Wrong-Secret-Pass-654' },
    });
    const logged = ctx.logLines.join('');
    expect(ctx.logLines.length).toBeGreaterThan(0);
    for (const secret of [password, 'Wrong-Secret-Pass-654', token, token.split('.')[2]!, ctx.deps.config.JWT_SECRET]) {
      expect(logged).not.toContain(secret);
    }
  });
});

describe('login rate limit', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ ctx, app } = await startApiApp({ env: { LOGIN_RATE_LIMIT: '3' } }));
  });
  afterAll(() => stopApiApp(ctx, app));

  it('answers 429 after LOGIN_RATE_LIMIT attempts per IP and username, even with the right password', async () => {
    const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    const attempt = (username: string, pw: string) =>
      app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: pw } });
    for (let i = 0; i < 3; i++) expect((await attempt(user.username, 'Wrong-password-1')).statusCode).toBe(401);
    const limited = await attempt(user.username, password);
    expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'RATE_LIMITED']);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await attempt('someone-else', 'Wrong-password-1')).statusCode).toBe(401);
  });
});
