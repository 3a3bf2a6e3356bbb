import { randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** Cost parameters of new hashes. N=2^15 takes about 50 ms here; raise N later, old hashes keep verifying. */
const DEFAULT = { N: 32_768, r: 8, p: 1, keylen: 32, saltBytes: 16 };
/** Bounds a stored hash must respect, so a corrupted row cannot make verification allocate gigabytes. */
const LIMITS = { maxN: 1 << 20, maxR: 32, maxP: 16, minKeylen: 16, maxKeylen: 128 };

const maxmem = (N: number, r: number): number => 128 * N * r * 2;

/**
 * Hashes `password` with scrypt into `scrypt$N$r$p$saltB64$hashB64`.
 * The salt is random, so two hashes of one password differ; compare only with {@link verifyPassword}.
 */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, keylen, saltBytes } = DEFAULT;
  const salt = randomBytes(saltBytes);
  const hash = await scrypt(password, salt, keylen, { N, r, p, maxmem: maxmem(N, r) });
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^\d{1,8}$/.test(v ?? '') ? Number(v) : NaN)) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const hash = Buffer.from(parts[5] ?? '', 'base64');
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > LIMITS.maxN || !(r >= 1 && r <= LIMITS.maxR) || !(p >= 1 && p <= LIMITS.maxP)) return null;
  if (salt.length < 8 || hash.length < LIMITS.minKeylen || hash.length > LIMITS.maxKeylen) return null;
  return { N, r, p, salt, hash };
}

/**
 * True when `stored` is a hash some password can match. Placeholders such as the demo data's
 * `scrypt$disabled$…` (accounts nobody can log in to) are not.
 */
export function isUsablePasswordHash(stored: string): boolean {
  return parseHash(stored) !== null;
}

/**
 * True when `password` matches `stored`. Constant-time comparison; a stored value that does not parse
 * (legacy format, empty, tampered parameters) never matches and never throws.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const { N, r, p, salt, hash } = parsed;
  const candidate = await scrypt(password, salt, hash.length, { N, r, p, maxmem: maxmem(N, r) });
  return timingSafeEqual(candidate, hash);
}

const ALPHABETS = ['abcdefghijkmnopqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '-_.!@#%+='];

/**
 * A random password of `length` characters (min 16) with every character class present,
 * so it satisfies `isStrongPassword`. Meant to be shown once and changed.
 */
export function generateStrongPassword(length = 20): string {
  const size = Math.max(16, length);
  const all = ALPHABETS.join('');
  const chars = ALPHABETS.map((a) => a[randomInt(a.length)] as string);
  while (chars.length < size) chars.push(all[randomInt(all.length)] as string);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
