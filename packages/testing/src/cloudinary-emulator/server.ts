import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { handleDeleteResources, handleResources } from './admin-api.js';
import { EmulatorHttpError } from './http-error.js';
import { ResourceStore, type EmulatedResource } from './store.js';
import type { EmulatorAction, EmulatorAnswer, EmulatorCall, EmulatorContext } from './types.js';
import { handleDestroy, handleDownload, handleUpload } from './upload-api.js';
import { recordSecret } from '../secrets.js';

export interface CloudinaryEmulatorOptions {
  cloudName?: string;
  apiKey?: string;
  /** Default: random. */
  apiSecret?: string;
  /** Folder for stored files; default a fresh temporary folder, removed by `close()`. */
  dir?: string;
  /**
   * Largest request body accepted; larger ones get 400 "File size too large", as Cloudinary answers. Default 100 MB.
   */
  requestLimitBytes?: number;
}

/** One request as the emulator saw it (no query string, so no signature, is recorded). */
export interface EmulatorRequestRecord {
  action: EmulatorAction | null;
  method: string;
  path: string;
  /** Body bytes received. */
  bytes: number;
  status: number;
  contentRange?: string;
  uploadId?: string;
}

export interface CloudinaryEmulator {
  /** Base URL, `http://127.0.0.1:PORT`; use as `upload_prefix`. */
  readonly url: string;
  /** `cloudinary://key:secret@cloud?upload_prefix=…` pointing at this emulator. */
  readonly cloudinaryUrl: string;
  readonly cloudName: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /**
   * The next `n` requests (of `action`, or any) answer `status` with an error body. `Infinity` = until cleared.
   * With `skip`, that many matching requests are served first (e.g. a chunked upload failing after its first part).
   */
  failNext(n: number, status?: number, action?: EmulatorAction, skip?: number): void;
  /** Every request fails with `status` until `clearFailures()`. */
  failAll(status?: number): void;
  clearFailures(): void;
  /** Wait `ms` before answering each request (after its body arrived). */
  setDelay(ms: number): void;
  /** Pages of `resources` hold at most `n` entries (to test paging); undefined restores Cloudinary's 500. */
  setMaxResults(n: number | undefined): void;
  /** Largest single request body seen since start or `resetStats()`. */
  readonly maxRequestBytes: number;
  readonly requests: readonly EmulatorRequestRecord[];
  resetStats(): void;
  /** Stored assets (copies). */
  resources(): EmulatedResource[];
  close(): Promise<void>;
}

interface FailureRule {
  remaining: number;
  /** Matching requests still to serve before failing. */
  skip: number;
  status: number;
  action: EmulatorAction | undefined;
}

/**
 * Starts a local stand-in for the parts of Cloudinary's upload and Admin APIs the storage driver
 * uses, on 127.0.0.1 and a free port. It checks every signature (SHA-1, as the account default),
 * Basic-auth credential and download expiry, stores assets as files, and answers errors as
 * `{ error: { message } }` with Cloudinary's statuses. Test-only: request bodies are buffered in memory.
 */
export async function startCloudinaryEmulator(opts: CloudinaryEmulatorOptions = {}): Promise<CloudinaryEmulator> {
  const cloudName = opts.cloudName ?? 'emulated-cloud';
  const apiKey = opts.apiKey ?? '123456789012345';
  const apiSecret = opts.apiSecret ?? randomBytes(18).toString('base64url');
  recordSecret('cloudinary api secret', apiSecret);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'cloudinary-emulator-')));
  const limit = opts.requestLimitBytes ?? 100 * 1024 * 1024;
  const ctx: EmulatorContext = {
    cloudName,
    apiKey,
    apiSecret,
    baseUrl: '',
    store: new ResourceStore(dir),
    maxResultsCap: 500,
  };
  let failures: FailureRule[] = [];
  let delayMs = 0;
  let maxRequestBytes = 0;
  let requests: EmulatorRequestRecord[] = [];

  const takeFailure = (action: EmulatorAction | null): number | undefined => {
    const rule = failures.find((r) => r.remaining > 0 && (r.action === undefined || r.action === action));
    if (!rule) return undefined;
    if (rule.skip > 0) {
      rule.skip -= 1;
      return undefined;
    }
    rule.remaining -= 1;
    failures = failures.filter((r) => r.remaining > 0);
    return rule.status;
  };

  const server = createServer((req, res) => {
    void serve(req, res).catch(() => res.destroy());
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', ctx.baseUrl);
    const parts = url.pathname
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
    const route = routeOf(req.method ?? 'GET', parts);
    const { body, bytes } = await readBody(req, limit);
    maxRequestBytes = Math.max(maxRequestBytes, bytes);
    const record: EmulatorRequestRecord = {
      action: route?.action ?? null,
      method: req.method ?? 'GET',
      path: url.pathname,
      bytes,
      status: 0,
    };
    const range = req.headers['content-range'];
    if (typeof range === 'string') record.contentRange = range;
    const uploadId = req.headers['x-unique-upload-id'];
    if (typeof uploadId === 'string') record.uploadId = uploadId;
    requests.push(record);
    if (delayMs > 0) await sleep(delayMs);

    let answer: EmulatorAnswer;
    try {
      const injected = takeFailure(route?.action ?? null);
      if (injected !== undefined) throw new EmulatorHttpError(injected, `Emulated failure (HTTP ${injected})`);
      if (body === null) throw new EmulatorHttpError(400, `File size too large. Got ${bytes}. Maximum is ${limit}.`);
      if (parts[0] !== 'v1_1') throw new EmulatorHttpError(404, `No route for ${req.method} ${url.pathname}`);
      if (parts[1] !== cloudName) throw new EmulatorHttpError(401, `Invalid cloud_name ${parts[1] ?? ''}`);
      if (!route) throw new EmulatorHttpError(404, `No route for ${req.method} ${url.pathname}`);
      const call: EmulatorCall = {
        method: req.method ?? 'GET',
        query: url.searchParams,
        headers: req.headers,
        body,
        segments: parts.slice(2),
      };
      answer = await route.handle(ctx, call);
    } catch (err) {
      const status = err instanceof EmulatorHttpError ? err.status : 500;
      answer = { status, json: { error: { message: err instanceof Error ? err.message : 'Internal error' } } };
    }
    record.status = answer.status;
    send(res, answer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  ctx.baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: ctx.baseUrl,
    cloudinaryUrl:
      `cloudinary://${encodeURIComponent(apiKey)}:${encodeURIComponent(apiSecret)}@${cloudName}` +
      `?upload_prefix=${encodeURIComponent(ctx.baseUrl)}`,
    cloudName,
    apiKey,
    apiSecret,
    failNext(n, status = 500, action, skip = 0) {
      failures.push({ remaining: n, skip, status, action });
    },
    failAll(status = 500) {
      failures.push({ remaining: Infinity, skip: 0, status, action: undefined });
    },
    clearFailures() {
      failures = [];
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setMaxResults(n) {
      ctx.maxResultsCap = n ?? 500;
    },
    get maxRequestBytes() {
      return maxRequestBytes;
    },
    get requests() {
      return requests.map((r) => ({ ...r }));
    },
    resetStats() {
      maxRequestBytes = 0;
      requests = [];
    },
    resources: () => ctx.store.all(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Route {
  action: EmulatorAction;
  handle: (ctx: EmulatorContext, call: EmulatorCall) => EmulatorAnswer | Promise<EmulatorAnswer>;
}

/** Maps `/v1_1/<cloud>/…` to a handler; undefined for anything the emulator does not speak. */
function routeOf(method: string, parts: string[]): Route | undefined {
  const [, , first, second, third, ...rest] = parts;
  if (!first || !second || rest.length > 0) return undefined;
  if (first === 'resources' && third) {
    if (method === 'GET') return { action: 'resources', handle: (c, call) => handleResources(c, call, second, third) };
    if (method === 'DELETE')
      return { action: 'delete_resources', handle: (c, call) => handleDeleteResources(c, call, second, third) };
    return undefined;
  }
  if (third) return undefined;
  if (method === 'POST' && second === 'upload')
    return { action: 'upload', handle: (c, call) => handleUpload(c, call, first) };
  if (method === 'POST' && second === 'destroy')
    return { action: 'destroy', handle: (c, call) => handleDestroy(c, call, first) };
  if (method === 'GET' && second === 'download')
    return { action: 'download', handle: (c, call) => handleDownload(c, call, first) };
  return undefined;
}

/** Reads the whole body; past `limit` it keeps counting but returns `body: null`. */
async function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer | null; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes <= limit) chunks.push(chunk);
  }
  return { body: bytes <= limit ? Buffer.concat(chunks, bytes) : null, bytes };
}

function send(res: ServerResponse, answer: EmulatorAnswer): void {
  if (res.destroyed) return;
  if ('json' in answer) {
    const text = JSON.stringify(answer.json);
    res.writeHead(answer.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  const { path, size, filename, attachment } = answer.file;
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': size,
    ...(attachment ? { 'content-disposition': `attachment; filename="${filename.replace(/"/g, '')}"` } : {}),
  });
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}
