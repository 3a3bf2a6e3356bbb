import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/src/app.js';
import { createApiTestContext, type ApiTestContext } from '@mp/testing';

/** A real-dependency test context and the API app built on it (`app.inject` for requests). */
export async function startApiApp(opts: Parameters<typeof createApiTestContext>[0] = {}): Promise<{ ctx: ApiTestContext; app: FastifyInstance }> {
  const ctx = await createApiTestContext(opts);
  return { ctx, app: await buildApp(ctx.deps) };
}

/** Closes what {@link startApiApp} started; safe when start-up failed half-way. */
export async function stopApiApp(ctx: ApiTestContext | undefined, app: FastifyInstance | undefined): Promise<void> {
  await app?.close();
  await ctx?.close();
}
