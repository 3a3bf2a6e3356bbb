import { randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

/*
 * New hashes are Argon2id in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), through
 * @node-rs/argon2 (the reference implementation's algorithm in Rust, prebuilt, no install step).
 * Hashes of the earlier hand-assembled scrypt format (`scrypt$N$r$p$salt$hash`) still verify, and the
 * login rehashes them (see {@link needsRehash}).
 */

/**
 * Cost of new hashes: OWASP's Argon2id minimum (m=19 MiB, t=2, p=1; Password Storage Cheat Sheet).
 * Raising any of these makes {@link needsRehash} true for older hashes, so they move up at their next login.
 */
export const ARGON2_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;

/**
 * Bounds a stored Argon2 hash must respect before it is handed to the library, which allocates `m` KiB
 * per lane as written: a tampered row must not make a login allocate gigabytes or spin for minutes.
 */
const ARGON2_LIMITS = { maxMemoryKiB: 262_144, maxTime: 16, maxParallelism: 8, minSalt: 8, minHash: 16, maxHash: 128 };

/** `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, unpadded standard base64; nothing else (no data=, keyid=). */
const ARGON2_PHC = /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

function parseArgon2(stored: string): Argon2Params | null {
  const m = ARGON2_PHC.exec(stored);
  if (!m) return null;
  const [memoryCost, timeCost, parallelism] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const saltBytes = Math.floor(((m[4] as string).length * 3) / 4);
  const hashBytes = Math.floor(((m[5] as string).length * 3) / 4);
  const L = ARGON2_LIMITS;
  if (!(parallelism >= 1 && parallelism <= L.maxParallelism) || !(timeCost >= 1 && timeCost <= L.maxTime)) return null;
  // Argon2 itself needs at least 8 KiB per lane.
  if (memoryCost < 8 * parallelism || memoryCost > L.maxMemoryKiB) return null;
  if (saltBytes < L.minSalt || hashBytes < L.minHash || hashBytes > L.maxHash) return null;
  return { memoryCost, timeCost, parallelism };
}

/**
 * Hashes `password` with Argon2id at {@link ARGON2_PARAMS} into a PHC string. The salt is random, so two
 * hashes of one password differ; compare only with {@link verifyPassword}.
 */
export async function hashPassword(password: string): Promise<string> {
  // The library's default algorithm and version are Argon2id v=19 (0x13); the test pins the prefix.
  return argon2Hash(password, { ...ARGON2_PARAMS });
}

// Legacy scrypt: verified, never written any more.

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** Bounds a stored scrypt hash must respect, so a corrupted row cannot make verification allocate gigabytes. */
const SCRYPT_LIMITS = { maxN: 1 << 20, maxR: 32, maxP: 16, minKeylen: 16, maxKeylen: 128 };

const maxmem = (N: number, r: number): number => 128 * N * r * 2;

interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseScrypt(stored: string): ScryptHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^\d{1,8}$/.test(v ?? '') ? Number(v) : NaN)) as [
    number,
    number,
    number,
  ];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const hash = Buffer.from(parts[5] ?? '', 'base64');
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (
    !powerOfTwo ||
    N > SCRYPT_LIMITS.maxN ||
    !(r >= 1 && r <= SCRYPT_LIMITS.maxR) ||
    !(p >= 1 && p <= SCRYPT_LIMITS.maxP)
  )
    return null;
  if (salt.length < 8 || hash.length < SCRYPT_LIMITS.minKeylen || hash.length > SCRYPT_LIMITS.maxKeylen) return null;
  return { N, r, p, salt, hash };
}

/**
 * True when `stored` is a hash some password can match: Argon2id within bounds, or the legacy scrypt
 * format. Placeholders such as the demo data's `scrypt$disabled$…` (accounts nobody can log in to) are not.
 */
export function isUsablePasswordHash(stored: string): boolean {
  return parseArgon2(stored) !== null || parseScrypt(stored) !== null;
}

/**
 * True when `stored` verifies but is not an Argon2id hash at the current {@link ARGON2_PARAMS} or more:
 * the caller should store `hashPassword(password)` once the password has been checked (the login does).
 * False for a value that is not usable at all (there is nothing to upgrade).
 */
export function needsRehash(stored: string): boolean {
  const argon = parseArgon2(stored);
  if (argon) {
    const p = ARGON2_PARAMS;
    return argon.memoryCost < p.memoryCost || argon.timeCost < p.timeCost || argon.parallelism < p.parallelism;
  }
  return parseScrypt(stored) !== null;
}

/**
 * True when `password` matches `stored` (Argon2id PHC or legacy scrypt). Constant-time comparison; a
 * stored value that does not parse or exceeds the bounds (empty, placeholder, tampered parameters)
 * never matches and never throws.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (parseArgon2(stored)) return argon2Verify(stored, password).catch(() => false);
  const parsed = parseScrypt(stored);
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
