import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/src/app.js';
import { createApiTestContext, type ApiTestContext } from '@mp/testing';

/** A real-dependency test context and the API app built on it (`app.inject` for requests). */
export async function startApiApp(
  opts: Parameters<typeof createApiTestContext>[0] = {},
): Promise<{ ctx: ApiTestContext; app: FastifyInstance }> {
  const ctx = await createApiTestContext(opts);
  return { ctx, app: await buildApp(ctx.deps) };
}

/** Closes what {@link startApiApp} started; safe when start-up failed half-way. */
export async function stopApiApp(ctx: ApiTestContext | undefined, app: FastifyInstance | undefined): Promise<void> {
  await app?.close();
  await ctx?.close();
}

export interface RegisteredRoute {
  method: string;
  /** Fastify's pattern: `/api/backup/:id`. */
  pattern: string;
}

/**
 * Every route the app registered (HEAD folded into GET), read from the router's own tree print: each
 * line's indent says its depth, and a path is its ancestors' segments joined.
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const stack: string[] = [];
  const routes: RegisteredRoute[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│├└─ ]*)(\S.*?)(?: \(([^)]+)\))?$/.exec(line);
    if (!m?.[2]) continue;
    const depth = (m[1] as string).length / 4;
    stack.length = depth;
    const pattern = (stack[depth - 1] ?? '') + m[2];
    stack[depth] = pattern;
    for (const method of (m[3] ?? '').split(', ').filter((v) => v && v !== 'HEAD')) routes.push({ method, pattern });
  }
  return routes;
}
