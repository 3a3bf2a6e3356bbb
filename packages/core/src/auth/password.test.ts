import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStrongPassword } from '@mp/config';
import {
  ARGON2_PARAMS,
  generateStrongPassword,
  hashPassword,
  isUsablePasswordHash,
  needsRehash,
  verifyPassword,
} from './password.js';

/** A hash in the format this product wrote before Argon2id (N lowered so the test stays fast). */
function legacyScrypt(password: string, N = 1 << 14): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 });
  return ['scrypt', N, 8, 1, salt.toString('base64'), hash.toString('base64')].join('$');
}

describe('password hashing', () => {
  it('hashes with Argon2id into a PHC string at or above the OWASP minimum, and verifies', async () => {
    const hash = await hashPassword('Correct-Horse-42');
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/.exec(hash);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(19_456);
    expect(Number(m![2])).toBeGreaterThanOrEqual(2);
    expect(Number(m![3])).toBe(1);
    expect(await verifyPassword('Correct-Horse-42', hash)).toBe(true);
    expect(await verifyPassword('Correct-Horse-43', hash)).toBe(false);
    expect(await hashPassword('Correct-Horse-42')).not.toBe(hash);
    expect(isUsablePasswordHash(hash)).toBe(true);
    expect(needsRehash(hash)).toBe(false);
  });

  it('keeps verifying legacy scrypt hashes, which are usable and due for a rehash', async () => {
    const legacy = legacyScrypt('Old-Password-77');
    expect(await verifyPassword('Old-Password-77', legacy)).toBe(true);
    expect(await verifyPassword('Old-Password-78', legacy)).toBe(false);
    expect(isUsablePasswordHash(legacy)).toBe(true);
    expect(needsRehash(legacy)).toBe(true);
  });

  it('asks for a rehash of an Argon2id hash below the current cost', () => {
    const weaker = `$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost / 2},t=1,p=1$${'A'.repeat(22)}$${'B'.repeat(43)}`;
    expect(isUsablePasswordHash(weaker)).toBe(true);
    expect(needsRehash(weaker)).toBe(true);
    expect(needsRehash('scrypt$disabled$abc')).toBe(false);
  });

  it('never matches a stored value that does not parse or exceeds the bounds, and never throws', async () => {
    const hash = await hashPassword('x');
    const legacy = legacyScrypt('x');
    const parts = legacy.split('$');
    const tampered = [
      '',
      'x',
      'plain-text-password',
      'scrypt$disabled$0123456789abcdef0123456789abcdef',
      `bcrypt$${parts.slice(1).join('$')}`,
      legacy.replace(/^scrypt\$\d+/, 'scrypt$1000'), // N not a power of two
      legacy.replace(/^scrypt\$\d+/, 'scrypt$1073741824'), // N far too large
      parts.slice(0, 5).join('$'),
      `${parts.slice(0, 5).join('$')}$`,
      hash.replace(/m=\d+/, 'm=4194304'), // 4 GiB: refused before the library could allocate it
      hash.replace(/m=\d+/, 'm=4'), // below Argon2's own minimum
      hash.replace(/t=\d+/, 't=999'),
      hash.replace(/p=\d+/, 'p=64'),
      hash.replace('$argon2id$', '$argon2i$'),
      hash.replace('$argon2id$', '$argon2d$'),
      hash.replace('v=19', 'v=16'),
      hash.replace(/\$[^$]+$/, '$'), // no hash
      hash.replace(/\$[^$]+$/, '$QUJD'), // hash too short
      `${hash}$extra`,
      hash.replace(/,p=1/, ',p=1,data=abc'),
    ];
    for (const stored of tampered) {
      expect([stored, await verifyPassword('x', stored)]).toEqual([stored, false]);
      expect([stored, isUsablePasswordHash(stored)]).toEqual([stored, false]);
    }
  });

  it('generates strong passwords', () => {
    for (let i = 0; i < 50; i++) {
      const p = generateStrongPassword();
      expect(p).toHaveLength(20);
      expect(isStrongPassword(p)).toBe(true);
    }
    expect(generateStrongPassword(4)).toHaveLength(16);
  });
});
