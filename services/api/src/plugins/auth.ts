import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { z } from 'zod';
import { AppError, checkSession } from '@mp/core';
import type { Role } from '@mp/db';
import type { ApiDeps } from '../deps.js';

/** What the API signs into a token: the session id makes logout and session deletion effective at once. */
export interface TokenPayload {
  sub: string;
  sid: string;
  role: Role;
  username: string;
}

/** `request.user` once the auth hook ran: role and username come from the database, not the token. */
export interface AuthUser {
  id: string;
  sessionId: string;
  username: string;
  role: Role;
  mustChangePassword: boolean;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenPayload;
    user: AuthUser;
  }
}

const payloadSchema = z.object({
  sub: z.string().min(1),
  sid: z.string().min(1),
  role: z.enum(['ADMIN', 'SUPERVISOR', 'CREDIT_OFFICER']),
  username: z.string(),
});

/**
 * Registers @fastify/jwt (HS256 only, `exp` = JWT_TTL_SECONDS); tokens are read from the Authorization header.
 * No `formatUser`: `jwtVerify()` then returns the raw payload, and the auth hook sets `request.user` itself.
 */
export async function registerJwt(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  await app.register(fastifyJwt, {
    secret: deps.config.JWT_SECRET,
    sign: { algorithm: 'HS256', expiresIn: deps.config.JWT_TTL_SECONDS },
    verify: { algorithms: ['HS256'] },
  });
}

async function verifyToken(request: FastifyRequest): Promise<TokenPayload> {
  try {
    const decoded = await request.jwtVerify<TokenPayload>();
    const parsed = payloadSchema.safeParse(decoded);
    if (parsed.success) return parsed.data;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED')
      throw new AppError('SESSION_EXPIRED', 'Token expired; log in again');
    if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') throw new AppError('UNAUTHORIZED', 'Authentication required');
  }
  throw new AppError('UNAUTHORIZED', 'Invalid token');
}

/**
 * onRequest hook: a valid signed token, then a live session (exists, not revoked or expired, user
 * active), checked in PostgreSQL on every request so a logout or a deleted session stops the token at once.
 */
export function authenticate(deps: Pick<ApiDeps, 'pool'>): onRequestAsyncHookHandler {
  return async (request) => {
    const payload = await verifyToken(request);
    const user = await checkSession(deps, { sessionId: payload.sid, userId: payload.sub });
    request.user = {
      id: user.id,
      sessionId: payload.sid,
      username: user.username,
      role: user.role,
      mustChangePassword: user.mustChangePassword,
    };
  };
}

/**
 * onRequest hook, after {@link authenticate}: an account flagged to change its password (a generated
 * first-admin or SuperAdmin password) may do nothing else until it has (POST /api/auth/change-password).
 */
export function requirePasswordChanged(): onRequestAsyncHookHandler {
  return async (request) => {
    if (request.user.mustChangePassword) {
      throw new AppError('PASSWORD_CHANGE_REQUIRED', 'Change your password first: POST /api/auth/change-password');
    }
  };
}

/** onRequest hook, after {@link authenticate}: 403 unless the user has one of `roles`. */
export function requireRole(...roles: Role[]): onRequestAsyncHookHandler {
  return async (request) => {
    if (!roles.includes(request.user.role)) {
      throw new AppError('FORBIDDEN', `This action needs the role ${roles.join(' or ')}`);
    }
  };
}
