import { describe, expect, it } from 'vitest';
import { isStrongPassword } from '@mp/config';
import { generateStrongPassword, hashPassword, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('hashes in the scrypt$N$r$p$salt$hash format and verifies', async () => {
    const hash = await hashPassword('Correct-Horse-42');
    expect(hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('Correct-Horse-42', hash)).toBe(true);
    expect(await verifyPassword('Correct-Horse-43', hash)).toBe(false);
    expect(await hashPassword('Correct-Horse-42')).not.toBe(hash);
  });

  it('never matches a stored value that does not parse', async () => {
    const hash = await hashPassword('x');
    const parts = hash.split('$');
    const tampered = [
      '',
      'x',
      'plain-text-password',
      `bcrypt$${parts.slice(1).join('$')}`,
      hash.replace(/^scrypt\$\d+/, 'scrypt$1000'), // N not a power of two
      hash.replace(/^scrypt\$\d+/, 'scrypt$1073741824'), // N far too large
      parts.slice(0, 5).join('$'),
      `${parts.slice(0, 5).join('$')}$`,
    ];
    for (const stored of tampered) expect(await verifyPassword('x', stored)).toBe(false);
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
