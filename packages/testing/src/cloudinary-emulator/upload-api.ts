import { randomBytes } from 'node:crypto';
import { EmulatorHttpError } from './http-error.js';
import { parseMultipart } from './multipart.js';
import { sameString, signParams, stringToSign } from './signature.js';
import type { EmulatedResource } from './store.js';
import type { EmulatorAnswer, EmulatorCall, EmulatorContext } from './types.js';

const MAX_AGE_SECONDS = 3600;

/** `POST <resource_type>/upload`, whole or one part of a chunked upload (Content-Range + X-Unique-Upload-Id). */
export async function handleUpload(
  ctx: EmulatorContext,
  call: EmulatorCall,
  resourceType: string,
): Promise<EmulatorAnswer> {
  const { fields, file } = parseMultipart(call.body, call.headers['content-type']);
  const params = verifySignedParams(ctx, fields);
  if (!file) throw new EmulatorHttpError(400, 'Missing required parameter - file');
  const type = params.type || 'upload';
  const publicId = [params.folder, params.public_id || randomBytes(10).toString('hex')].filter(Boolean).join('/');
  const target = { resourceType, type, publicId };

  const rangeHeader = header(call, 'content-range');
  if (!rangeHeader)
    return {
      status: 200,
      json: describe(ctx, await ctx.store.putWhole(resourceType, type, publicId, file.data), file.filename),
    };
  const uploadId = header(call, 'x-unique-upload-id');
  if (!uploadId) throw new EmulatorHttpError(400, 'Chunked upload without X-Unique-Upload-Id');
  const m = /^bytes (\d+)-(\d+)\/(-1|\d+)$/.exec(rangeHeader);
  if (!m) throw new EmulatorHttpError(400, `Invalid Content-Range ${rangeHeader}`);
  const range = { first: Number(m[1]), last: Number(m[2]), total: m[3] === '-1' ? undefined : Number(m[3]) };
  const asset = await ctx.store.putPart(uploadId, range, target, file.data);
  return { status: 200, json: asset ? describe(ctx, asset, file.filename) : { done: false, bytes: range.last + 1 } };
}

/** `POST <resource_type>/destroy`: `{ result: 'ok' }` or `{ result: 'not found' }`, like Cloudinary. */
export async function handleDestroy(
  ctx: EmulatorContext,
  call: EmulatorCall,
  resourceType: string,
): Promise<EmulatorAnswer> {
  const { fields } = parseMultipart(call.body, call.headers['content-type']);
  const params = verifySignedParams(ctx, fields);
  if (!params.public_id) throw new EmulatorHttpError(400, 'Missing required parameter - public_id');
  const deleted = await ctx.store.delete(resourceType, params.type || 'upload', params.public_id);
  return { status: 200, json: { result: deleted ? 'ok' : 'not found' } };
}

/**
 * `GET <resource_type>/download?…` as `utils.private_download_url` builds it: signed query, refused
 * once `expires_at` has passed (or an hour after `timestamp` when there is no `expires_at`).
 */
export function handleDownload(ctx: EmulatorContext, call: EmulatorCall, resourceType: string): EmulatorAnswer {
  const fields = new Map<string, string[]>();
  for (const [k, v] of call.query) fields.set(k, [...(fields.get(k) ?? []), v]);
  const params = verifySignedParams(ctx, fields, { checkAge: false });
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = params.expires_at ? Number(params.expires_at) : Number(params.timestamp) + MAX_AGE_SECONDS;
  if (!Number.isFinite(expiresAt) || expiresAt < now) throw new EmulatorHttpError(401, 'Download link has expired');
  const publicId =
    params.format && resourceType !== 'raw' ? `${params.public_id}.${params.format}` : (params.public_id ?? '');
  const asset = ctx.store.get(resourceType, params.type || 'upload', publicId);
  if (!asset) throw new EmulatorHttpError(404, `Resource not found - ${publicId}`);
  const filename = publicId.split('/').pop() ?? publicId;
  return {
    status: 200,
    file: {
      path: asset.path,
      size: asset.bytes,
      filename,
      attachment: params.attachment === 'true' || params.attachment === '1',
    },
  };
}

/**
 * Checks `api_key`, the SHA-1 signature over every other parameter and (for API calls) that the
 * timestamp is under an hour old. Returns single-valued parameters by name.
 */
function verifySignedParams(
  ctx: EmulatorContext,
  fields: Map<string, string[]>,
  opts = { checkAge: true },
): Record<string, string> {
  const flat: Record<string, string> = {};
  const toSign: Record<string, string | string[]> = {};
  for (const [k, values] of fields) {
    flat[k] = values[0] ?? '';
    toSign[k] = k.endsWith('[]') ? values : (values[0] ?? '');
  }
  if (!flat.api_key) throw new EmulatorHttpError(401, 'Must supply api_key');
  if (!sameString(flat.api_key, ctx.apiKey)) throw new EmulatorHttpError(401, `Unknown API key ${flat.api_key}`);
  if (!flat.signature) throw new EmulatorHttpError(401, 'Missing required parameter - signature');
  const expected = signParams(toSign, ctx.apiSecret);
  if (!sameString(flat.signature, expected)) {
    throw new EmulatorHttpError(
      401,
      `Invalid Signature ${flat.signature}. String to sign - '${stringToSign(toSign)}'.`,
    );
  }
  const timestamp = Number(flat.timestamp);
  if (!Number.isFinite(timestamp)) throw new EmulatorHttpError(400, 'Missing required parameter - timestamp');
  if (opts.checkAge && timestamp < Date.now() / 1000 - MAX_AGE_SECONDS) {
    throw new EmulatorHttpError(
      400,
      `Stale request - reported time is ${new Date(timestamp * 1000).toISOString()} which is more than 1 hour ago`,
    );
  }
  return flat;
}

/** The JSON Cloudinary answers for an asset (upload result, `resources` entry). */
export function describe(
  ctx: EmulatorContext,
  asset: EmulatedResource,
  originalFilename?: string,
): Record<string, unknown> {
  const deliveryUrl =
    `${ctx.baseUrl}/${ctx.cloudName}/${asset.resourceType}/${asset.type}/s--` +
    `${asset.assetId.slice(0, 8)}--/v${asset.version}/${asset.publicId}`;
  return {
    asset_id: asset.assetId,
    public_id: asset.publicId,
    version: asset.version,
    version_id: asset.assetId.slice(0, 16),
    resource_type: asset.resourceType,
    type: asset.type,
    created_at: asset.createdAt.toISOString(),
    bytes: asset.bytes,
    placeholder: false,
    tags: [],
    url: deliveryUrl,
    secure_url: deliveryUrl,
    ...(originalFilename ? { original_filename: originalFilename } : {}),
  };
}

function header(call: EmulatorCall, name: string): string | undefined {
  const value = call.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
