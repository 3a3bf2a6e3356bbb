import { StorageError } from './errors.js';

/**
 * Turns whatever the Cloudinary SDK rejected with (an `{ message, http_code }` object, an Admin API
 * error carrying `request_options.auth = "key:secret"`, a socket Error, …) into a `StorageError` that
 * holds only the HTTP status and the provider's message. The raw value is dropped, not attached as
 * `cause`, and the message is scrubbed of `secrets`, so nothing downstream can log the API secret.
 */
export function toCloudError(action: string, raw: unknown, secrets: readonly string[]): StorageError {
  const outer = isRecord(raw) ? raw : {};
  const inner = isRecord(outer.error) ? outer.error : outer;
  const status = typeof inner.http_code === 'number' ? inner.http_code : undefined;
  let detail = 'unknown error';
  if (typeof inner.message === 'string') detail = inner.message;
  else if (inner.message instanceof Error) detail = inner.message.message;
  else if (typeof raw === 'string') detail = raw;
  // Socket errors carry `code` (ECONNREFUSED…); fetch wraps it in `cause`.
  const errno =
    typeof inner.code === 'string'
      ? inner.code
      : isRecord(inner.cause) && typeof inner.cause.code === 'string'
        ? inner.cause.code
        : undefined;
  const sysCode = errno ? ` (${errno})` : '';
  const text = scrub(
    `Cloudinary ${action} failed${status ? ` with HTTP ${status}` : ''}: ${detail}${sysCode}`,
    secrets,
  );
  const code = status === 404 ? 'STORAGE_NOT_FOUND' : 'STORAGE_CLOUD_ERROR';
  return new StorageError(code, text.slice(0, 500), status, isRetryable(status));
}

/** Network failures, timeouts (499), rate limits and 5xx may pass on a later attempt; other 4xx will not. */
function isRetryable(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 499 || status === 420 || status === 429 || status === 408;
}

/** Replaces every occurrence of each non-empty secret (raw and URL-encoded) with `[redacted]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so `key:secret` goes whole rather than leaving `key:` behind.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('[redacted]');
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
