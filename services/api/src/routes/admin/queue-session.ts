import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../../deps.js';
import {
  QUEUE_COOKIE,
  QUEUE_COOKIE_PATH,
  QUEUE_COOKIE_TTL_SECONDS,
  signQueueToken,
} from '../../plugins/queue-cookie.js';
import { ok } from '../../reply.js';
import { ADMIN_ERRORS, errorResponses, okResponse } from '../../schemas/envelope.js';
import { queueSessionSchema } from '../../schemas/system.js';

/**
 * POST /api/system/queue-dashboard/session (admin scope): the console holds a bearer token, which a page the
 * browser opens cannot send. This sets a short-lived HttpOnly, SameSite=Strict cookie scoped to /admin/queues,
 * bound to the caller's session (a logout ends it too).
 */
const queueSessionRoute: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    '/api/system/queue-dashboard/session',
    {
      schema: {
        tags: ['system'],
        summary: 'Open the queue dashboard (/admin/queues) in this browser: sets its short-lived cookie',
        response: {
          200: okResponse(queueSessionSchema, {
            description: 'The cookie is set (HttpOnly, SameSite=Strict, path /admin/queues); open `url`',
            message: 'Queue dashboard opened',
            example: { url: '/admin/queues/', expiresAt: '2026-11-24T12:15:00.000Z' },
          }),
          ...errorResponses(ADMIN_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const ttl = Math.min(QUEUE_COOKIE_TTL_SECONDS, deps.config.JWT_TTL_SECONDS);
      const token = signQueueToken(app, deps.config.JWT_SECRET, request.user, ttl);
      reply.setCookie(QUEUE_COOKIE, token, {
        path: QUEUE_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        maxAge: ttl,
      });
      return ok(
        { url: `${QUEUE_COOKIE_PATH}/`, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() },
        'Queue dashboard opened',
      );
    },
  );
};

export default queueSessionRoute;
