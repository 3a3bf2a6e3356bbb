import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { changePassword, claimResetPassword, login, logout } from '@mp/core';
import type { ApiDeps } from '../../deps.js';
import { authenticate } from '../../plugins/auth.js';
import { ok } from '../../reply.js';
import {
  changePasswordBody,
  claimAnswer,
  claimBody,
  LOGIN_EXAMPLE,
  loginAnswer,
  loginBody,
} from '../../schemas/auth.js';
import { BODY_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';

const loginKey = (ip: string, body: unknown) =>
  `${ip}|${String((body as { username?: unknown } | undefined)?.username ?? '')
    .trim()
    .toLowerCase()}`;

/** Codes of a route that only needs a live session (any role). */
const SESSION_ERRORS = ['UNAUTHORIZED', 'SESSION_EXPIRED', 'INTERNAL_ERROR'] as const;
const CLAIM_MESSAGE = 'Store this password now; it is not shown again and must be changed';

/**
 * POST /api/auth/login (rate-limited per IP + username), /api/auth/reset-claim (rate-limited per IP), /api/auth/logout.
 */
const authRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in; answers a JWT bound to a new session',
        security: [],
        body: loginBody,
        response: {
          200: okResponse(loginAnswer, {
            description: 'Logged in: send `Authorization: Bearer <token>`',
            example: LOGIN_EXAMPLE,
          }),
          ...errorResponses([...BODY_ERRORS, 'INVALID_CREDENTIALS', 'RATE_LIMITED', 'INTERNAL_ERROR']),
        },
      },
      // preHandler so the body (username) is parsed when the key is computed.
      config: {
        rateLimit: {
          max: deps.config.LOGIN_RATE_LIMIT,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (r) => loginKey(r.ip, r.body),
        },
      },
    },
    async (request) => {
      const { body } = request;
      const session = await login(deps, {
        ...body,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
        ttlSeconds: deps.config.JWT_TTL_SECONDS,
      });
      const token = app.jwt.sign({
        sub: session.user.id,
        sid: session.sessionId,
        role: session.user.role,
        username: session.user.username,
      });
      return ok({ token, expiresAt: session.expiresAt, user: session.user });
    },
  );

  app.post(
    '/api/auth/reset-claim',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Once, after an emergency reset: the new SuperAdmin password, for the claim token the reset answered with',
        description:
          'INVALID_CREDENTIALS for an unknown job or a wrong token (the same answer); OPERATION_IN_PROGRESS while ' +
          'the reset runs; NOT_FOUND once claimed (or when the password came from configuration).',
        security: [],
        body: claimBody,
        response: {
          200: okResponse(claimAnswer, {
            description: 'The generated password, shown once',
            message: CLAIM_MESSAGE,
            example: { username: 'SuperAdmin', password: 'Xq7-kP2m-Rt9w-Lb4z', mustChangePassword: true },
          }),
          ...errorResponses([
            ...BODY_ERRORS,
            'INVALID_CREDENTIALS',
            'OPERATION_IN_PROGRESS',
            'NOT_FOUND',
            'RATE_LIMITED',
            'INTERNAL_ERROR',
          ]),
        },
      },
      config: { rateLimit: { max: deps.config.LOGIN_RATE_LIMIT, timeWindow: 60_000, keyGenerator: (r) => r.ip } },
    },
    async (request) => ok(await claimResetPassword(deps, request.body), CLAIM_MESSAGE),
  );

  app.post(
    '/api/auth/change-password',
    {
      onRequest: authenticate(deps),
      schema: {
        tags: ['auth'],
        summary: 'Change your password (required first for generated passwords)',
        description:
          'INVALID_CREDENTIALS when the current password is wrong; VALIDATION_ERROR when the new one is weak or ' +
          'unchanged. Your other sessions end.',
        security: [{ bearerAuth: [] }],
        body: changePasswordBody,
        response: {
          200: okResponse(z.object({ changed: z.literal(true) }), {
            description: 'Changed',
            message: 'Password changed; your other sessions were ended',
            example: { changed: true },
          }),
          ...errorResponses([...SESSION_ERRORS, ...BODY_ERRORS, 'INVALID_CREDENTIALS']),
        },
      },
    },
    async (request) => {
      await changePassword(deps, { userId: request.user.id, sessionId: request.user.sessionId, ...request.body });
      return ok({ changed: true as const }, 'Password changed; your other sessions were ended');
    },
  );

  app.post(
    '/api/auth/logout',
    {
      onRequest: authenticate(deps),
      schema: {
        tags: ['auth'],
        summary: 'End the current session at once',
        security: [{ bearerAuth: [] }],
        response: {
          200: okResponse(z.object({ loggedOut: z.literal(true) }), {
            description: 'The token stops working at once',
            message: 'Logged out',
            example: { loggedOut: true },
          }),
          ...errorResponses(SESSION_ERRORS),
        },
      },
    },
    async (request) => {
      await logout(deps, { sessionId: request.user.sessionId });
      return ok({ loggedOut: true as const }, 'Logged out');
    },
  );
};

export default authRoutes;
