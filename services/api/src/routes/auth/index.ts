import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { changePassword, claimResetPassword, login, logout } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { authenticate } from '../../plugins/auth.js';
import { ok } from '../../reply.js';

const loginBody = z.object({ username: z.string().trim().min(1).max(100), password: z.string().min(1).max(1024) }).strict();

const changeBody = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) }).strict();

const claimBody = z.object({ jobId: z.uuid(), claimToken: z.string().min(20).max(200) }).strict();

const loginKey = (ip: string, body: unknown) =>
  `${ip}|${String((body as { username?: unknown } | undefined)?.username ?? '').trim().toLowerCase()}`;

/** POST /api/auth/login (rate-limited per IP + username), /api/auth/reset-claim (rate-limited per IP), /api/auth/logout. */
const authRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/auth/login',
    {
      schema: { tags: ['auth'], summary: 'Log in; answers a JWT bound to a new session', body: loginBody },
      // preHandler so the body (username) is parsed when the key is computed.
      config: { rateLimit: { max: deps.config.LOGIN_RATE_LIMIT, timeWindow: 60_000, hook: 'preHandler', keyGenerator: (r) => loginKey(r.ip, r.body) } },
    },
    async (request) => {
      const { body } = request;
      const session = await login(deps, { ...body, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, ttlSeconds: deps.config.JWT_TTL_SECONDS });
      const token = app.jwt.sign({ sub: session.user.id, sid: session.sessionId, role: session.user.role, username: session.user.username });
      return ok({ token, expiresAt: session.expiresAt, user: session.user });
    },
  );

  app.post(
    '/api/auth/reset-claim',
    {
      schema: { tags: ['auth'], summary: 'Once, after an emergency reset: the new SuperAdmin password, for the claim token the reset answered with', body: claimBody },
      config: { rateLimit: { max: deps.config.LOGIN_RATE_LIMIT, timeWindow: 60_000, keyGenerator: (r) => r.ip } },
    },
    async (request) => ok(await claimResetPassword(deps, request.body), 'Store this password now; it is not shown again and must be changed'),
  );

  app.post(
    '/api/auth/change-password',
    {
      onRequest: authenticate(deps),
      schema: { tags: ['auth'], summary: 'Change your password (required first for generated passwords)', body: changeBody, security: [{ bearerAuth: [] }] },
    },
    async (request) => {
      await changePassword(deps, { userId: request.user.id, sessionId: request.user.sessionId, ...request.body });
      return ok({ changed: true }, 'Password changed; your other sessions were ended');
    },
  );

  app.post(
    '/api/auth/logout',
    { onRequest: authenticate(deps), schema: { tags: ['auth'], summary: 'End the current session at once', security: [{ bearerAuth: [] }] } },
    async (request) => {
      await logout(deps, { sessionId: request.user.sessionId });
      return ok({ loggedOut: true }, 'Logged out');
    },
  );
};

export default authRoutes;
