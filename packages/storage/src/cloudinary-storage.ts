import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { v2 as CloudinarySdk } from 'cloudinary';
import { uploadInParts, type PartRange } from './chunked-upload.js';
import { scrub, toCloudError } from './cloudinary-errors.js';
import { parseCloudinaryUrl } from './cloudinary-url.js';
import { StorageError } from './errors.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import type { BackupStorage, StoredObject, StoredObjectInfo } from './storage.js';
import { settleWithin } from './timeout.js';

/** Cloudinary's documented minimum part size, and a ceiling that keeps one request under its 100 MB cap. */
export const MIN_CHUNK_SIZE = 5_000_000;
export const MAX_CHUNK_SIZE = 99_000_000;

export interface CloudinaryStorageOptions {
  /** `cloudinary://key:secret@cloud[?upload_prefix=…]`, as the service's config read it. */
  url: string;
  /** Public-id folder of every backup; default `backups`. */
  folder?: string;
  /** Bytes per upload request for bodies larger than this; default 6 MB (6 * 1024 * 1024), held once while sent. */
  chunkSize?: number;
  /** Default lifetime of `signedUrl` links; default 900 s. */
  urlTtlSeconds?: number;
  /** Per-request timeout; default 120 s. Upload parts are aborted by the SDK, Admin calls by us. */
  requestTimeoutMs?: number;
  /** Clock for link expiry (tests); default `() => new Date()`. */
  now?: () => Date;
}

const RESOURCE = { resource_type: 'raw', type: 'authenticated' } as const;

let loadedSdk: typeof CloudinarySdk | undefined;

/**
 * The Cloudinary SDK, loaded on first use (synchronously, since `signedUrl` is synchronous), so a process
 * without a Cloudinary driver never pays its memory (a few MB of heap) nor its start-up time.
 */
function sdk(): typeof CloudinarySdk {
  loadedSdk ??= (createRequire(import.meta.url)('cloudinary') as typeof import('cloudinary')).v2;
  return loadedSdk;
}

interface UploadAnswer {
  asset_id?: string;
  public_id?: string;
  bytes?: number;
  url?: string;
  secure_url?: string;
}

/**
 * Backup storage on Cloudinary: raw resources, delivery type `authenticated`, public id
 * `<folder>/<key>`. Credentials and API base come from `url` and are passed on every SDK call
 * (never through `cloudinary.config()` or `process.env`), together with an HTTP agent matching the
 * base's protocol, because the SDK picks http or https once at load time and a mismatch throws.
 *
 * Traps: `resource_type` and `type` go on every call (the SDK defaults to image/upload, which would
 * upload to the wrong place and make deletes match nothing). Errors are `StorageError`s whose text
 * holds only the status and Cloudinary's message; the API secret never appears in them.
 */
export function createCloudinaryStorage(
  opts: CloudinaryStorageOptions,
): BackupStorage & Required<Pick<BackupStorage, 'signedUrl'>> {
  const creds = parseCloudinaryUrl(opts.url);
  const folder = (opts.folder ?? 'backups').replace(/^\/+|\/+$/g, '');
  const chunkSize = opts.chunkSize ?? 6 * 1024 * 1024;
  const urlTtlSeconds = opts.urlTtlSeconds ?? 900;
  const timeoutMs = opts.requestTimeoutMs ?? 120_000;
  const now = opts.now ?? (() => new Date());
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(folder))
    throw new Error('Cloudinary folder must be path segments of letters, digits, _ and -');
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new Error(`Cloudinary chunkSize must be an integer between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE} bytes`);
  }
  assertTtl(urlTtlSeconds);

  const secrets = [creds.apiSecret, `${creds.apiKey}:${creds.apiSecret}`];
  const agent = creds.uploadPrefix.startsWith('http:')
    ? new http.Agent({ keepAlive: true })
    : new https.Agent({ keepAlive: true });
  // Spread into every SDK call: the SDK reads options before its global config.
  const account = {
    cloud_name: creds.cloudName,
    api_key: creds.apiKey,
    api_secret: creds.apiSecret,
    upload_prefix: creds.uploadPrefix,
    agent,
    timeout: timeoutMs,
    ...RESOURCE,
  };
  const publicIdOf = (key: string): string => {
    assertValidKey(key);
    return `${folder}/${key}`;
  };
  const fail = (action: string, raw: unknown): StorageError => toCloudError(action, raw, secrets);

  const signedUrl = (key: string, ttlSeconds = urlTtlSeconds): string => {
    assertTtl(ttlSeconds);
    const timestamp = Math.floor(now().getTime() / 1000);
    // The SDK's typings list only a few options; it reads credentials and base from the same object.
    const options: Record<string, unknown> = {
      ...account,
      timestamp,
      expires_at: timestamp + ttlSeconds,
      attachment: true,
    };
    return sdk().utils.private_download_url(publicIdOf(key), '', options);
  };

  // `part` is reused for the next part once this one has its answer (chunked-upload.ts), so nothing keeps it.
  const sendPart =
    (publicId: string, key: string) =>
    (part: Buffer, range: PartRange | undefined): Promise<UploadAnswer> =>
      new Promise((resolve, reject) => {
        let settled = false;
        const options = {
          ...account,
          public_id: publicId,
          filename: key,
          ...(range ? { content_range: range.contentRange, x_unique_upload_id: range.uploadId } : {}),
        };
        const stream = sdk().uploader.upload_stream(options, (err, result) => {
          if (settled) return;
          settled = true;
          if (err || !result) reject(fail('upload', err ?? 'empty answer'));
          else resolve(result as UploadAnswer);
        });
        stream.end(part);
      });

  return {
    kind: 'cloud',
    signedUrl,

    async put(key, body, opts): Promise<StoredObject> {
      let publicId: string;
      try {
        publicId = publicIdOf(key);
      } catch (err) {
        body.destroy();
        throw err;
      }
      const { result, size } = await uploadInParts(body, chunkSize, sendPart(publicId, key), opts?.afterPart);
      if (!result.asset_id || !result.secure_url || !result.url)
        throw fail('upload', { message: 'answer lacks asset_id or URLs' });
      if (typeof result.bytes === 'number' && result.bytes !== size) {
        throw new StorageError(
          'STORAGE_CLOUD_ERROR',
          `Cloudinary stored ${result.bytes} bytes of ${key}, ${size} were sent`,
          undefined,
          true,
        );
      }
      return {
        key,
        size,
        location: {
          kind: 'cloud',
          publicId: result.public_id ?? publicId,
          assetId: result.asset_id,
          url: result.url,
          secureUrl: result.secure_url,
          resourceType: 'raw',
          type: 'authenticated',
        },
      };
    },

    async open(key): Promise<Readable> {
      // node:http rather than fetch: the socket is paused while the reader is behind, so the download holds no
      // more than the stream buffers (with fetch, about 30 MB more RSS while a slow reader read back 200 MB).
      const url = signedUrl(key);
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        let timedOut = false;
        const get = url.startsWith('https:') ? https.get : http.get;
        const req = get(url, { agent: url.startsWith('https:') === agent instanceof https.Agent ? agent : undefined });
        // Only the wait for the answer's headers is bounded; a long body may take its time.
        const timer = setTimeout(() => {
          timedOut = true;
          req.destroy();
        }, timeoutMs);
        req.once('response', (answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        req.once('error', (err) => {
          clearTimeout(timer);
          reject(fail('download', timedOut ? { message: 'Request Timeout', http_code: 499 } : err));
        });
      });
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        const header = res.headers['x-cld-error'];
        const detail = typeof header === 'string' ? header : await readErrorMessage(res);
        throw fail('download', { message: scrub(detail, secrets), http_code: status });
      }
      return res;
    },

    async delete(key) {
      const publicId = publicIdOf(key);
      const answer: unknown = await sdk()
        .uploader.destroy(publicId, { ...account, invalidate: true })
        .catch((err: unknown) => {
          throw fail('destroy', err);
        });
      const result = (answer as { result?: unknown } | null)?.result;
      if (result === 'ok') return { deleted: true, notFound: false };
      if (result === 'not found') return { deleted: false, notFound: true };
      throw fail('destroy', { message: `unexpected result ${JSON.stringify(result)}` });
    },

    async list(prefix = '') {
      assertValidPrefix(prefix);
      const infos: StoredObjectInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = (await settleWithin(
          sdk().api.resources({
            ...account,
            prefix: `${folder}/${prefix}`,
            max_results: 500,
            ...(cursor ? { next_cursor: cursor } : {}),
          }),
          timeoutMs,
          requestTimeout,
        ).catch((err: unknown) => {
          throw fail('list', err);
        })) as { resources?: Array<{ public_id: string; bytes?: number; created_at?: string }>; next_cursor?: string };
        for (const r of page.resources ?? []) {
          const key = r.public_id.slice(folder.length + 1);
          // Sub-folders and names this driver could not have written are not backups of ours.
          if (!r.public_id.startsWith(`${folder}/`) || key.includes('/')) continue;
          infos.push({ key, size: r.bytes ?? 0, modifiedAt: new Date(r.created_at ?? 0) });
        }
        cursor = page.next_cursor;
      } while (cursor);
      return infos.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
  };
}

function assertTtl(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 24 * 3600)
    throw new Error('Signed URL lifetime must be 1 s to 7 days, in whole seconds');
}

async function readErrorMessage(res: http.IncomingMessage): Promise<string> {
  let text = '';
  try {
    res.setEncoding('utf8');
    for await (const chunk of res) {
      text += chunk as string;
      // An error body is short; a long one is not read to its end.
      if (text.length > 64 * 1024) {
        res.destroy();
        break;
      }
    }
  } catch {
    // the body broke off: the status text will do
  }
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: fall through to the status text
  }
  return res.statusMessage || 'download refused';
}

/**
 * The Admin API sets a socket timeout without aborting, so `settleWithin` bounds how long a caller waits; this is
 * the failure it then gives, shaped like the SDK's own errors.
 */
function requestTimeout(): never {
  throw { message: 'Request Timeout', http_code: 499 };
}
