import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/** The cookie that lets a browser open the queue dashboard; sent only to /admin/queues. */
export const QUEUE_COOKIE = 'mp_queues';
/** Path the cookie is scoped to: no other route ever receives it. */
export const QUEUE_COOKIE_PATH = '/admin/queues';
/** A dashboard cookie lives this long (seconds), and never past the bearer token's own lifetime. */
export const QUEUE_COOKIE_TTL_SECONDS = 15 * 60;

const payloadSchema = z.object({ sub: z.string().min(1), sid: z.string().min(1), scope: z.literal('queues') });

/**
 * The dashboard token is signed with a key derived from JWT_SECRET, not with JWT_SECRET itself: a cookie
 * token can then never pass as a bearer token on the API, nor a bearer token as a cookie.
 */
function dashboardKey(jwtSecret: string): string {
  return createHmac('sha256', jwtSecret).update('mp queue dashboard cookie v1').digest('base64url');
}

/** Signs a short-lived dashboard token for a live session (the session is checked again on every request). */
export function signQueueToken(
  app: FastifyInstance,
  jwtSecret: string,
  user: { id: string; sessionId: string },
  ttlSeconds: number,
): string {
  return app.jwt.sign({ sub: user.id, sid: user.sessionId, scope: 'queues' } as never, {
    key: dashboardKey(jwtSecret),
    expiresIn: ttlSeconds,
  });
}

/** The session a dashboard token names, or null when it is forged, expired or not a dashboard token. */
export function verifyQueueToken(
  app: FastifyInstance,
  jwtSecret: string,
  token: string,
): { userId: string; sessionId: string } | null {
  try {
    const parsed = payloadSchema.safeParse(app.jwt.verify(token, { key: dashboardKey(jwtSecret) }));
    return parsed.success ? { userId: parsed.data.sub, sessionId: parsed.data.sid } : null;
  } catch {
    return null;
  }
}
