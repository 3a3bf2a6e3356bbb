import { EmulatorHttpError } from './http-error.js';
import { sameString } from './signature.js';
import { describe } from './upload-api.js';
import type { EmulatorAnswer, EmulatorCall, EmulatorContext } from './types.js';

/** `GET resources/<resource_type>/<type>?prefix&max_results&next_cursor` (Basic auth). */
export function handleResources(
  ctx: EmulatorContext,
  call: EmulatorCall,
  resourceType: string,
  type: string,
): EmulatorAnswer {
  checkBasicAuth(ctx, call);
  const maxResults = Number(call.query.get('max_results') ?? 10);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 500)
    throw new EmulatorHttpError(400, 'max_results must be between 1 and 500');
  const cursor = call.query.get('next_cursor');
  const start = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw new EmulatorHttpError(400, 'Invalid next_cursor');
  const all = ctx.store.list(resourceType, type, call.query.get('prefix') ?? '');
  const size = Math.min(maxResults, ctx.maxResultsCap);
  const page = all.slice(start, start + size);
  const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return {
    status: 200,
    json: { resources: page.map((a) => describe(ctx, a)), ...(next ? { next_cursor: next } : {}) },
  };
}

/** `DELETE resources/<resource_type>/<type>` with form body `public_ids[]=…` (Basic auth). */
export async function handleDeleteResources(
  ctx: EmulatorContext,
  call: EmulatorCall,
  resourceType: string,
  type: string,
): Promise<EmulatorAnswer> {
  checkBasicAuth(ctx, call);
  const form = new URLSearchParams(call.body.toString('utf8'));
  const ids = form.getAll('public_ids[]');
  if (ids.length === 0) throw new EmulatorHttpError(400, 'Must specify public_ids, prefix or tag');
  const deleted: Record<string, string> = {};
  const counts: Record<string, { original: number; derived: number }> = {};
  for (const id of ids) {
    const gone = await ctx.store.delete(resourceType, type, id);
    deleted[id] = gone ? 'deleted' : 'not_found';
    counts[id] = { original: gone ? 1 : 0, derived: 0 };
  }
  return { status: 200, json: { deleted, deleted_counts: counts, partial: false } };
}

function checkBasicAuth(ctx: EmulatorContext, call: EmulatorCall): void {
  const auth = call.headers.authorization ?? '';
  if (!auth.startsWith('Basic ')) throw new EmulatorHttpError(401, 'Must supply api_key');
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const key = colon < 0 ? decoded : decoded.slice(0, colon);
  const secret = colon < 0 ? '' : decoded.slice(colon + 1);
  if (!sameString(key, ctx.apiKey)) throw new EmulatorHttpError(401, `Unknown API key ${key}`);
  if (!sameString(secret, ctx.apiSecret)) throw new EmulatorHttpError(401, 'Invalid credentials');
}
