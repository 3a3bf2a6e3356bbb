import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { AppError, checkSession, isAppError } from '@mp/core';
import { QUEUES } from '@mp/jobs';
import type { ApiDeps } from '../../deps.js';
import { authenticate, requirePasswordChanged, requireRole } from '../../plugins/auth.js';
import { sendAppError } from '../../plugins/error-handler.js';
import { QUEUE_COOKIE, QUEUE_COOKIE_PATH, verifyQueueToken } from '../../plugins/queue-cookie.js';

/**
 * Who is asking: a bearer token (curl, scripts) goes through the API's own check; a browser sends the cookie
 * that POST /api/system/queue-dashboard/session set. Either way the session must be live, the user an ADMIN
 * whose password is not a generated one waiting to be changed.
 */
async function identify(
  app: FastifyInstance,
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (request.headers.authorization) {
    await authenticate(deps).call(app, request, reply);
    return;
  }
  const token = request.cookies[QUEUE_COOKIE];
  if (!token)
    throw new AppError(
      'UNAUTHORIZED',
      'Authentication required: open the queue dashboard from the admin console (/admin)',
    );
  const claims = verifyQueueToken(app, deps.config.JWT_SECRET, token);
  if (!claims)
    throw new AppError(
      'UNAUTHORIZED',
      'The queue dashboard cookie is not valid or expired: open it again from the admin console',
    );
  const user = await checkSession(deps, claims);
  request.user = {
    id: user.id,
    sessionId: claims.sessionId,
    username: user.username,
    role: user.role,
    mustChangePassword: user.mustChangePassword,
  };
}

/**
 * bull-board at /admin/queues, for admins only, read-only unless BULL_BOARD_READ_ONLY=false. The API only
 * reads the queues here (and, when not read-only, lets an admin retry or clean jobs); it never runs a job.
 * bull-board installs its own error handler in its scope, so refusals are answered by the hook itself.
 */
export async function registerQueueDashboard(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const adapter = new FastifyAdapter();
  const readOnlyMode = deps.config.BULL_BOARD_READ_ONLY;
  createBullBoard({
    queues: Object.values(QUEUES).map((name) => new BullMQAdapter(deps.producer.queue(name), { readOnlyMode })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: `Millennium Potters queues${readOnlyMode ? ' (read-only)' : ''}` } },
  });
  adapter.setBasePath(QUEUE_COOKIE_PATH);
  const checks = [requireRole('ADMIN'), requirePasswordChanged()];

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      try {
        await identify(app, deps, request, reply);
        for (const check of checks) await check.call(scope, request, reply);
      } catch (err) {
        if (isAppError(err)) return sendAppError(reply, err);
        throw err;
      }
      return undefined;
    });
    scope.addHook('onSend', async (_request, reply) => {
      reply
        .header('Cache-Control', 'no-store')
        .header('X-Frame-Options', 'DENY')
        .header('Referrer-Policy', 'no-referrer');
    });
    await scope.register(adapter.registerPlugin(), { prefix: QUEUE_COOKIE_PATH });
    // Anything else under /admin/queues is the dashboard's too (not the console's static files): refused the same way.
    scope.get(`${QUEUE_COOKIE_PATH}/*`, { schema: { hide: true } }, async (request, reply) =>
      sendAppError(reply, new AppError('NOT_FOUND', `Route GET ${request.url.split('?')[0]} not found`)),
    );
  });
}
