import { createHash, timingSafeEqual } from 'node:crypto';

/** Parameters Cloudinary leaves out of the string to sign. */
const UNSIGNED = new Set(['file', 'api_key', 'signature', 'resource_type', 'cloud_name']);

/**
 * The string Cloudinary signs (signature version 2): parameters sorted by name as `k=v` joined with
 * `&`, arrays joined with `,` (the wire name's `[]` dropped), empty values and {@link UNSIGNED} left
 * out, and `&` inside a pair escaped as `%26`. Written from the spec, independently of the SDK, so the
 * emulator checks the driver rather than agreeing with it by construction.
 */
export function stringToSign(params: Record<string, string | string[]>): string {
  return Object.entries(params)
    .map(([k, v]) => [k.replace(/\[\]$/, ''), Array.isArray(v) ? v.join(',') : v] as const)
    .filter(([k, v]) => !UNSIGNED.has(k) && v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`.replace(/&/g, '%26'))
    .join('&');
}

/** SHA-1 hex of the string to sign with the secret appended (the account default algorithm). */
export function signParams(params: Record<string, string | string[]>, apiSecret: string): string {
  return createHash('sha1')
    .update(stringToSign(params) + apiSecret)
    .digest('hex');
}

/** Constant-time comparison of two strings. */
export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
