import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { v2 as cloudinary } from 'cloudinary';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudinaryEmulator, type CloudinaryEmulator } from './server.js';
import { signParams, stringToSign } from './signature.js';

let emu: CloudinaryEmulator;
let account: Record<string, unknown>;
const agent = new http.Agent();

beforeAll(async () => {
  emu = await startCloudinaryEmulator({ cloudName: 'emu', apiKey: 'key-1', apiSecret: 'secret-1' });
  account = {
    cloud_name: 'emu',
    api_key: 'key-1',
    api_secret: 'secret-1',
    upload_prefix: emu.url,
    agent,
    resource_type: 'raw',
    type: 'authenticated',
  };
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFailures();
  emu.setDelay(0);
  emu.resetStats();
});

/** Uploads `data` with the SDK in one request; resolves with the SDK's error or result. */
function sdkUpload(
  data: Buffer,
  options: Record<string, unknown>,
): Promise<{ error?: { message: string; http_code?: number }; result?: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const stream = cloudinary.uploader.upload_stream({ ...account, ...options }, (error, result) =>
      resolve(error ? { error } : { result: result as Record<string, unknown> }),
    );
    stream.end(data);
  });
}

/** Sends a multipart upload by hand, signed with `secret`, so tests control every header. */
async function rawUpload(
  fields: Record<string, string>,
  data: Buffer,
  headers: Record<string, string> = {},
  secret = 'secret-1',
): Promise<Response> {
  const signed = { ...fields, signature: signParams(fields, secret), api_key: 'key-1' };
  const form = new FormData();
  for (const [k, v] of Object.entries(signed)) form.append(k, v);
  form.append('file', new Blob([data]), 'file');
  return fetch(`${emu.url}/v1_1/emu/raw/upload`, { method: 'POST', body: form, headers });
}
const now = (): number => Math.floor(Date.now() / 1000);

describe('signature', () => {
  it('matches the SDK signing of the same parameters', () => {
    const params = {
      public_id: 'backups/a&b.json',
      timestamp: 1700000000,
      type: 'authenticated',
      tags: ['x', 'y'],
      empty: '',
      invalidate: true,
    };
    const sdk = cloudinary.utils.api_sign_request(params, 'secret-1');
    const asStrings = {
      public_id: 'backups/a&b.json',
      timestamp: '1700000000',
      type: 'authenticated',
      'tags[]': ['x', 'y'],
      empty: '',
      invalidate: 'true',
      api_key: 'ignored',
      resource_type: 'ignored',
    };
    expect(stringToSign(asStrings)).toBe(
      'invalidate=true&public_id=backups/a%26b.json&tags=x,y&timestamp=1700000000&type=authenticated',
    );
    expect(signParams(asStrings, 'secret-1')).toBe(sdk);
  });
});

describe('startCloudinaryEmulator', () => {
  it('accepts a correctly signed SDK upload and refuses a wrong secret, key or stale timestamp', async () => {
    const ok = await sdkUpload(Buffer.from('hello'), { public_id: 'backups/ok.json' });
    expect(ok.result).toMatchObject({
      public_id: 'backups/ok.json',
      resource_type: 'raw',
      type: 'authenticated',
      bytes: 5,
    });
    expect(ok.result?.asset_id).toMatch(/^[0-9a-f]{32}$/);

    const wrongSecret = await sdkUpload(Buffer.from('x'), { public_id: 'backups/no.json', api_secret: 'nope' });
    expect(wrongSecret.error).toMatchObject({ http_code: 401, message: expect.stringMatching(/^Invalid Signature/) });
    const wrongKey = await sdkUpload(Buffer.from('x'), { public_id: 'backups/no.json', api_key: 'key-2' });
    expect(wrongKey.error).toMatchObject({ http_code: 401, message: 'Unknown API key key-2' });
    const stale = await sdkUpload(Buffer.from('x'), { public_id: 'backups/no.json', timestamp: now() - 7200 });
    expect(stale.error).toMatchObject({ http_code: 400, message: expect.stringMatching(/^Stale request/) });
    expect(emu.resources().map((r) => r.publicId)).not.toContain('backups/no.json');
  });

  it('assembles a chunked upload and rejects parts out of order', async () => {
    const a = randomBytes(1000);
    const b = randomBytes(500);
    const fields = { public_id: 'backups/chunked.bin', timestamp: String(now()), type: 'authenticated' };
    const first = await rawUpload(fields, a, { 'content-range': 'bytes 0-999/-1', 'x-unique-upload-id': 'u1' });
    expect(await first.json()).toMatchObject({ done: false });
    const last = await rawUpload(fields, b, { 'content-range': 'bytes 1000-1499/1500', 'x-unique-upload-id': 'u1' });
    expect(await last.json()).toMatchObject({ public_id: 'backups/chunked.bin', bytes: 1500 });

    const gap = await rawUpload(fields, b, { 'content-range': 'bytes 1000-1499/1500', 'x-unique-upload-id': 'u2' });
    expect(gap.status).toBe(400);
    expect(await gap.json()).toEqual({ error: { message: 'Chunk out of order: expected offset 0, got 1000' } });
  });

  it('checks Basic auth on the Admin API and deletes with delete_resources', async () => {
    await sdkUpload(Buffer.from('1'), { public_id: 'admin/one.json' });
    await expect(cloudinary.api.resources({ ...account, api_secret: 'nope', prefix: 'admin/' })).rejects.toMatchObject({
      error: { http_code: 401 },
    });
    const listed = await cloudinary.api.resources({ ...account, prefix: 'admin/' });
    expect(listed.resources.map((r: { public_id: string }) => r.public_id)).toEqual(['admin/one.json']);
    const deleted = await cloudinary.api.delete_resources(['admin/one.json', 'admin/none.json'], account);
    expect(deleted.deleted).toEqual({ 'admin/one.json': 'deleted', 'admin/none.json': 'not_found' });
    // The SDK's defaults (image/upload) match nothing of a raw, authenticated asset.
    await sdkUpload(Buffer.from('2'), { public_id: 'admin/two.json' });
    const { resource_type: _rt, type: _t, ...defaults } = account;
    expect((await cloudinary.api.delete_resources(['admin/two.json'], defaults)).deleted).toEqual({
      'admin/two.json': 'not_found',
    });
  });

  it('serves private download links only while signed and unexpired', async () => {
    await sdkUpload(Buffer.from('secret bytes'), { public_id: 'dl/file.json' });
    const url = (extra: Record<string, unknown>) =>
      cloudinary.utils.private_download_url('dl/file.json', '', { ...account, ...extra } as never);

    const ok = await fetch(url({ expires_at: now() + 60 }));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('secret bytes');
    expect((await fetch(url({ expires_at: now() - 1 }))).status).toBe(401);
    expect((await fetch(url({ timestamp: now() - 7200 }))).status).toBe(401);
    expect((await fetch(url({ expires_at: now() + 60, api_secret: 'nope' }))).status).toBe(401);
    const tampered = new URL(url({ expires_at: now() + 60 }));
    tampered.searchParams.set('public_id', 'dl/other.json');
    expect((await fetch(tampered)).status).toBe(401);
    const missing = await fetch(
      cloudinary.utils.private_download_url('dl/missing.json', '', { ...account, expires_at: now() + 60 } as never),
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { message: 'Resource not found - dl/missing.json' } });
  });

  it('fails the next N requests of one action, then recovers', async () => {
    emu.failNext(2, 500, 'upload');
    expect((await sdkUpload(Buffer.from('a'), { public_id: 'f/a' })).error).toMatchObject({
      http_code: 500,
      message: 'Emulated failure (HTTP 500)',
    });
    expect(await cloudinary.uploader.destroy('f/none', account)).toEqual({ result: 'not found' });
    expect((await sdkUpload(Buffer.from('a'), { public_id: 'f/a' })).error).toMatchObject({ http_code: 500 });
    expect((await sdkUpload(Buffer.from('a'), { public_id: 'f/a' })).result).toBeDefined();

    emu.failAll(429);
    await expect(cloudinary.api.resources(account)).rejects.toMatchObject({ error: { http_code: 429 } });
    emu.clearFailures();
    await expect(cloudinary.api.resources(account)).resolves.toHaveProperty('resources');
    expect(emu.requests.map((r) => r.status)).toEqual([500, 200, 500, 200, 429, 200]);
  });

  it('delays answers and reports the largest request body, refusing bodies over its limit', async () => {
    emu.setDelay(200);
    const started = Date.now();
    await cloudinary.uploader.destroy('x/none', account);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    emu.setDelay(0);

    const small = await startCloudinaryEmulator({
      cloudName: 'emu',
      apiKey: 'key-1',
      apiSecret: 'secret-1',
      requestLimitBytes: 10_000,
    });
    try {
      const res = await new Promise<{ error?: { http_code?: number; message: string } }>((resolve) => {
        cloudinary.uploader
          .upload_stream({ ...account, upload_prefix: small.url, public_id: 'big' }, (error) =>
            resolve({ ...(error ? { error } : {}) }),
          )
          .end(randomBytes(20_000));
      });
      expect(res.error).toMatchObject({ http_code: 400, message: expect.stringMatching(/^File size too large/) });
      expect(small.maxRequestBytes).toBeGreaterThan(20_000);
    } finally {
      await small.close();
    }
  });

  it('refuses another cloud name and unknown routes, and removes its folder on close', async () => {
    const other = await fetch(`${emu.url}/v1_1/other/raw/download?x=1`);
    expect(other.status).toBe(401);
    expect((await fetch(`${emu.url}/v1_1/emu/raw/explicit`, { method: 'POST' })).status).toBe(404);

    const temp = await startCloudinaryEmulator();
    expect(temp.cloudinaryUrl).toMatch(
      /^cloudinary:\/\/[^:]+:[^@]+@emulated-cloud\?upload_prefix=http%3A%2F%2F127\.0\.0\.1%3A\d+$/,
    );
    const uploaded = await new Promise<void>((resolve) => {
      cloudinary.uploader
        .upload_stream(
          {
            ...account,
            api_key: temp.apiKey,
            api_secret: temp.apiSecret,
            cloud_name: temp.cloudName,
            upload_prefix: temp.url,
            public_id: 'p',
          },
          () => resolve(),
        )
        .end(Buffer.from('x'));
    }).then(() => temp.resources());
    expect(uploaded).toHaveLength(1);
    const path = uploaded[0]!.path;
    expect(existsSync(path)).toBe(true);
    await temp.close();
    expect(existsSync(path)).toBe(false);
  });
});
