import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, loginAs, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';

// Accounts with a generated password (first admin, SuperAdmin after a reset) must change it first.
describe('password change', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  const NEW_PASSWORD = 'Another-Strong-77-password';

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
  });
  afterAll(() => stopApiApp(ctx, app));

  it('blocks every admin route until the password is changed, then opens them', async () => {
    const { user, password } = await createUser(ctx.deps.prisma, { role: 'ADMIN' });
    await ctx.deps.prisma.user.update({ where: { id: user.id }, data: { mustChangePassword: true } });
    const token = await loginAs(app, { username: user.username, password });
    const headers = { authorization: `Bearer ${token}` };
    const other = await loginAs(app, { username: user.username, password }); // a second session

    const blocked = await app.inject({ method: 'GET', url: '/api/backup/list', headers });
    expect([blocked.statusCode, blocked.json().error.code]).toEqual([403, 'PASSWORD_CHANGE_REQUIRED']);
    const create = await app.inject({ method: 'POST', url: '/api/backup/create', headers, payload: {} });
    expect(create.statusCode).toBe(403);
    expect(await ctx.deps.prisma.backupRecord.count()).toBe(0);

    const change = (body: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/api/auth/change-password', headers, payload: body });
    expect((await change({ currentPassword: 'wrong-one', newPassword: NEW_PASSWORD })).json().error.code).toBe(
      'INVALID_CREDENTIALS',
    );
    const weak = await change({ currentPassword: password, newPassword: 'short' });
    expect([weak.statusCode, weak.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
    const same = await change({ currentPassword: password, newPassword: password });
    expect(same.statusCode).toBe(400);
    const ok = await change({ currentPassword: password, newPassword: NEW_PASSWORD });
    expect(ok.statusCode).toBe(200);

    expect((await app.inject({ method: 'GET', url: '/api/backup/list', headers })).statusCode).toBe(200);
    // Other sessions end with the change; the old password no longer works.
    expect(
      (await app.inject({ method: 'GET', url: '/api/backup/list', headers: { authorization: `Bearer ${other}` } }))
        .statusCode,
    ).toBe(401);
    const oldLogin = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password },
    });
    expect(oldLogin.statusCode).toBe(401);
    expect(await loginAs(app, { username: user.username, password: NEW_PASSWORD })).toBeTruthy();
  });

  it('needs a valid session', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/change-password',
      payload: { currentPassword: 'a', newPassword: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(401);
  });
});
