// The storage driver's contract test against this emulator. It lives here, not beside the driver, because
// @mp/testing depends on @mp/storage: importing the emulator from packages/storage would make a workspace cycle.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  StorageError,
  copyObject,
  createCloudinaryStorage,
  createLocalStorage,
  type CloudinaryStorageOptions,
} from '@mp/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudinaryEmulator, type CloudinaryEmulator } from './server.js';

const SECRET = 'emulator-secret-Zq8wX1';
const MiB = 1024 * 1024;
/** Multipart fields and headers around one part's bytes: well under this. */
const OVERHEAD = 4096;

let emu: CloudinaryEmulator;
beforeAll(async () => {
  emu = await startCloudinaryEmulator({ cloudName: 'mp-test', apiKey: '111222333444555', apiSecret: SECRET });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFailures();
  emu.setDelay(0);
  emu.resetStats();
});

const storageWith = (extra: Partial<CloudinaryStorageOptions> = {}) =>
  createCloudinaryStorage({ url: emu.cloudinaryUrl, ...extra });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Streams `data` in 64 KiB pieces, as a file or gzip stream would. */
function streamOf(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
    })(),
  );
}
async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c);
  return h.digest('hex');
}
async function errorOf(promise: Promise<unknown>): Promise<StorageError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}
/** Everything a logger or error reporter could print of `err`. */
const everythingAbout = (err: unknown): string =>
  `${String(err)}\n${inspect(err, { depth: 10, showHidden: true })}\n${JSON.stringify(err)}`;

describe('createCloudinaryStorage against the emulator', () => {
  it('uploads a small file in one request as a raw, authenticated asset and returns its ids and URLs', async () => {
    const data = Buffer.from('{"metadata":{"version":"1.0"}}');
    const stored = await storageWith().put('backup-small.json', streamOf(data));

    const [asset] = emu.resources();
    expect(asset).toMatchObject({
      publicId: 'backups/backup-small.json',
      resourceType: 'raw',
      type: 'authenticated',
      bytes: data.length,
      sha256: sha256(data),
    });
    expect(stored).toEqual({
      key: 'backup-small.json',
      size: data.length,
      location: {
        kind: 'cloud',
        publicId: 'backups/backup-small.json',
        assetId: asset!.assetId,
        url: expect.any(String),
        secureUrl: expect.any(String),
        resourceType: 'raw',
        type: 'authenticated',
      },
    });
    expect(emu.requests).toHaveLength(1);
    expect(emu.requests[0]).not.toHaveProperty('contentRange');
  });

  it('uploads a large stream in parts no larger than chunkSize, all under one upload id', async () => {
    // The SDK was loaded without an http upload_prefix, so it chose https: the per-call agent is what makes http work.
    expect(process.env.CLOUDINARY_URL).toBeUndefined();
    const chunkSize = 5 * MiB;
    const data = randomBytes(12 * MiB);
    const stored = await storageWith({ chunkSize }).put('backup-large.json.gz', streamOf(data));

    const parts = emu.requests.filter((r) => r.action === 'upload');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(parts.map((p) => p.uploadId)).size).toBe(1);
    expect(parts.map((p) => p.contentRange)).toEqual([
      `bytes 0-${5 * MiB - 1}/-1`,
      `bytes ${5 * MiB}-${10 * MiB - 1}/-1`,
      `bytes ${10 * MiB}-${12 * MiB - 1}/${12 * MiB}`,
    ]);
    for (const p of parts) expect(p.bytes).toBeLessThanOrEqual(chunkSize + OVERHEAD);
    expect(emu.maxRequestBytes).toBeLessThanOrEqual(chunkSize + OVERHEAD);
    expect(stored.size).toBe(data.length);
    expect(emu.resources().find((r) => r.publicId === 'backups/backup-large.json.gz')?.sha256).toBe(sha256(data));
  });

  it('keeps memory flat and every request small for a body larger than one Cloudinary request', async () => {
    const total = 150 * MiB;
    const piece = randomBytes(64 * 1024);
    const body = Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += piece.length) yield Buffer.from(piece);
      })(),
    );
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 5);
    try {
      const stored = await storageWith({ chunkSize: 5 * MiB }).put('backup-huge.json.gz', body);
      expect(stored.size).toBe(total);
    } finally {
      clearInterval(sampler);
    }
    expect(emu.requests).toHaveLength(30);
    expect(emu.maxRequestBytes).toBeLessThanOrEqual(5 * MiB + OVERHEAD);
    // Driver and emulator share this process: each holds about one part (plus garbage not yet collected), never the 150
    // MiB body.
    expect(peak).toBeLessThan(100 * MiB);
    await storageWith().delete('backup-huge.json.gz');
  });

  it('never sends an empty last part when the size is an exact multiple of chunkSize', async () => {
    const data = randomBytes(10 * MiB);
    await storageWith({ chunkSize: 5 * MiB }).put('backup-exact.json.gz', streamOf(data));
    expect(emu.requests.map((r) => r.contentRange)).toEqual([
      `bytes 0-${5 * MiB - 1}/-1`,
      `bytes ${5 * MiB}-${10 * MiB - 1}/${10 * MiB}`,
    ]);
  });

  it('gives a signed URL that downloads the same bytes, and open() streams them too', async () => {
    const data = randomBytes(6 * MiB);
    const storage = storageWith({ chunkSize: 5 * MiB });
    await storage.put('backup-dl.json.gz', streamOf(data));

    const url = storage.signedUrl('backup-dl.json.gz');
    const expiresAt = Number(new URL(url).searchParams.get('expires_at'));
    expect(expiresAt - Date.now() / 1000).toBeGreaterThan(890);
    expect(expiresAt - Date.now() / 1000).toBeLessThanOrEqual(900);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('backup-dl.json.gz');
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));

    expect(await hashStream(await storage.open('backup-dl.json.gz'))).toBe(sha256(data));
    expect(new URL(storage.signedUrl('backup-dl.json.gz', 60)).searchParams.get('expires_at')).toBe(
      String(Math.floor(Date.now() / 1000) + 60),
    );
  });

  it('makes links the emulator refuses once expired or altered', async () => {
    await storageWith().put('backup-exp.json', streamOf(Buffer.from('x')));
    const twoHoursAgo = () => new Date(Date.now() - 2 * 3600_000);
    const expired = await fetch(storageWith({ now: twoHoursAgo }).signedUrl('backup-exp.json'));
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ error: { message: 'Download link has expired' } });

    const altered = new URL(storageWith().signedUrl('backup-exp.json'));
    altered.searchParams.set('expires_at', String(Number(altered.searchParams.get('expires_at')) + 86_400));
    expect((await fetch(altered)).status).toBe(401);
    await expect(storageWith({ now: twoHoursAgo }).open('backup-exp.json')).rejects.toMatchObject({
      code: 'STORAGE_CLOUD_ERROR',
      status: 401,
    });
  });

  it('fails every call made with the wrong secret, without the secret in any error', async () => {
    const wrongSecret = 'the-WRONG-secret-42';
    const wrong = createCloudinaryStorage({ url: emu.cloudinaryUrl.replace(encodeURIComponent(SECRET), wrongSecret) });
    const errors = [
      await errorOf(wrong.put('backup-wrong.json', streamOf(Buffer.from('x')))),
      await errorOf(wrong.list()),
      await errorOf(wrong.delete('backup-wrong.json')),
      await errorOf(wrong.open('backup-wrong.json')),
    ];
    for (const err of errors) {
      expect(err).toMatchObject({ code: 'STORAGE_CLOUD_ERROR', status: 401, retryable: false });
      expect(everythingAbout(err)).not.toContain(wrongSecret);
      expect(everythingAbout(err)).not.toContain(SECRET);
    }
    expect(emu.resources().some((r) => r.publicId === 'backups/backup-wrong.json')).toBe(false);
  });

  it('reports notFound when deleting a copy that is already gone', async () => {
    const storage = storageWith();
    await storage.put('backup-del.json', streamOf(Buffer.from('bye')));
    expect(await storage.delete('backup-del.json')).toEqual({ deleted: true, notFound: false });
    expect(await storage.delete('backup-del.json')).toEqual({ deleted: false, notFound: true });
    expect(emu.resources().some((r) => r.publicId === 'backups/backup-del.json')).toBe(false);
    await expect(storage.open('backup-del.json')).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND', status: 404 });
  });

  it('lists the keys of its folder across pages', async () => {
    const storage = storageWith({ folder: 'list-test' });
    for (const key of ['b-2.json', 'a-1.json', 'b-1.json']) await storage.put(key, streamOf(Buffer.from(key)));
    await storageWith({ folder: 'elsewhere' }).put('b-9.json', streamOf(Buffer.from('x')));
    emu.setMaxResults(2);
    try {
      expect((await storage.list()).map((o) => [o.key, o.size])).toEqual([
        ['a-1.json', 8],
        ['b-1.json', 8],
        ['b-2.json', 8],
      ]);
      expect((await storage.list('b-')).map((o) => o.key)).toEqual(['b-1.json', 'b-2.json']);
      expect(emu.requests.filter((r) => r.action === 'resources').length).toBeGreaterThanOrEqual(3);
    } finally {
      emu.setMaxResults(undefined);
    }
  });

  it('turns a server failure into a clean, retryable StorageError', async () => {
    emu.failNext(1, 500, 'upload');
    const err = await errorOf(storageWith().put('backup-500.json', streamOf(Buffer.from('x'))));
    expect(err).toMatchObject({ code: 'STORAGE_CLOUD_ERROR', status: 500, retryable: true });
    expect(err.message).toBe('Cloudinary upload failed with HTTP 500: Emulated failure (HTTP 500)');
    expect(err.cause).toBeUndefined();
  });

  it('stops a chunked upload at the first failing part and destroys the body', async () => {
    emu.failNext(1, 420, 'upload');
    const data = randomBytes(11 * MiB);
    const body = streamOf(data);
    // The first part goes out only once the second part's first byte is read; fail that first request.
    const err = await errorOf(storageWith({ chunkSize: 5 * MiB }).put('backup-mid.json.gz', body));
    expect(err).toMatchObject({ status: 420, retryable: true });
    expect(body.destroyed).toBe(true);
    expect(emu.requests.filter((r) => r.action === 'upload')).toHaveLength(1);
    expect(emu.resources().some((r) => r.publicId === 'backups/backup-mid.json.gz')).toBe(false);
  });

  it('treats every call failing as errors, not hangs', async () => {
    emu.failAll(500);
    const storage = storageWith();
    for (const call of [
      () => storage.list(),
      () => storage.delete('backup-x.json'),
      () => storage.open('backup-x.json'),
    ]) {
      expect(await errorOf(call())).toMatchObject({ status: 500 });
    }
  });

  it('reports an unreachable server as a retryable error', async () => {
    const gone = await startCloudinaryEmulator({ apiSecret: SECRET });
    await gone.close();
    const storage = createCloudinaryStorage({ url: gone.cloudinaryUrl });
    for (const call of [
      () => storage.put('backup-x.json', streamOf(Buffer.from('x'))),
      () => storage.list(),
      () => storage.delete('backup-x.json'),
      () => storage.open('backup-x.json'),
    ]) {
      const err = await errorOf(call());
      expect(err).toMatchObject({ code: 'STORAGE_CLOUD_ERROR', retryable: true });
      expect(everythingAbout(err)).not.toContain(SECRET);
    }
  });

  it('times out on a slow server instead of waiting forever', async () => {
    emu.setDelay(1500);
    const storage = storageWith({ requestTimeoutMs: 300 });
    expect(await errorOf(storage.put('backup-slow.json', streamOf(Buffer.from('x'))))).toMatchObject({
      status: 499,
      retryable: true,
    });
    expect(await errorOf(storage.list())).toMatchObject({ status: 499, retryable: true });
    expect(await errorOf(storage.open('backup-slow.json'))).toMatchObject({ status: 499, retryable: true });
  });

  it('rejects invalid keys before any request', async () => {
    const storage = storageWith();
    for (const key of ['../x.json', 'a/b.json', '']) {
      expect(await errorOf(storage.put(key, streamOf(Buffer.from('x'))))).toMatchObject({
        code: 'STORAGE_INVALID_KEY',
      });
      expect(() => storage.signedUrl(key)).toThrow(StorageError);
      expect(await errorOf(storage.delete(key))).toMatchObject({ code: 'STORAGE_INVALID_KEY' });
    }
    expect(emu.requests).toHaveLength(0);
  });

  it('refuses bad configuration without echoing the URL', () => {
    expect(() => storageWith({ chunkSize: 1024 })).toThrow(/chunkSize/);
    expect(() => storageWith({ chunkSize: 100 * 1000 * 1000 })).toThrow(/chunkSize/);
    expect(() => storageWith({ urlTtlSeconds: 0 })).toThrow(/lifetime/);
    expect(() => storageWith({ folder: '../up' })).toThrow(/folder/);
    let message = '';
    try {
      createCloudinaryStorage({ url: `https://key:${SECRET}@cloud` });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/cloudinary:\/\//);
    expect(message).not.toContain(SECRET);
  });

  it('copies a local backup to the cloud (location: both)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'copy-object-'));
    try {
      const local = createLocalStorage({ dir });
      const data = randomBytes(7 * MiB);
      await local.put('backup-both.json.gz', streamOf(data));
      const stored = await copyObject(local, storageWith({ chunkSize: 5 * MiB }), 'backup-both.json.gz');
      expect(stored).toMatchObject({
        key: 'backup-both.json.gz',
        size: data.length,
        location: { kind: 'cloud', publicId: 'backups/backup-both.json.gz' },
      });
      expect(emu.resources().find((r) => r.publicId === 'backups/backup-both.json.gz')?.sha256).toBe(sha256(data));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
