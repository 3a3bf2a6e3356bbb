import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { parseKeyConfig } from './key-config.js';

const b64 = (bytes: Buffer) => bytes.toString('base64');
const a = randomBytes(32);
const b = randomBytes(32);
const c = randomBytes(32);

/** The error `parseKeyConfig` throws; the test fails when it throws none. */
function refusal(current?: string, older?: string): AppError {
  try {
    parseKeyConfig(current, older);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected parseKeyConfig to refuse');
}

describe('parseKeyConfig', () => {
  it('reads the current key and the older ones into one keyring', () => {
    const config = parseKeyConfig(`k2:${b64(a)}`, ` k1:${b64(b)} , k0:${b64(c)},`);
    expect(config.current?.id).toBe('k2');
    expect(Buffer.from(config.current!.bytes).equals(a)).toBe(true);
    expect([...config.keyring.keys()]).toEqual(['k2', 'k1', 'k0']);
    expect(Buffer.from(config.keyring.get('k0')!).equals(c)).toBe(true);
  });

  it('no current key means no encryption, while older keys still decrypt', () => {
    expect(parseKeyConfig(undefined, undefined)).toEqual({ current: null, keyring: new Map() });
    const config = parseKeyConfig('', `old:${b64(a)}`);
    expect(config.current).toBeNull();
    expect(config.keyring.has('old')).toBe(true);
  });

  it(
    'refuses a key of the wrong length, bad base64, a missing id and a duplicate id, never echoing key ' + 'material',
    () => {
      const short = b64(randomBytes(16));
      const cases: [string | undefined, string | undefined, RegExp][] = [
        [`k:${short}`, undefined, /BACKUP_ENCRYPTION_KEY.*"k" is 16 bytes; it must be 32/],
        [`k:${b64(a)}!`, undefined, /"k" is not valid base64/],
        [`k:${b64(a).slice(1)}`, undefined, /not valid base64/],
        [b64(a), undefined, /must look like <keyId>:<base64/],
        [`:${b64(a)}`, undefined, /key id must be/],
        [`bad id:${b64(a)}`, undefined, /key id must be/],
        [`k:${b64(a)}`, `j:${b64(b)},k:${b64(c)}`, /BACKUP_DECRYPTION_KEYS.*"k" appears more than once/],
        [undefined, `j:${b64(b)},j:${b64(b)}`, /"j" appears more than once/],
        [undefined, `j:${b64(b)},x:${short}`, /BACKUP_DECRYPTION_KEYS \(entry 2\).*16 bytes/],
      ];
      for (const [current, older, message] of cases) {
        const err = refusal(current, older);
        expect(err.code).toBe('VALIDATION_ERROR');
        expect(err.message).toMatch(message);
        for (const secret of [a, b, c]) {
          expect(err.message).not.toContain(b64(secret).slice(0, 12));
        }
        expect(err.message).not.toContain(short.slice(0, 12));
      }
    },
  );
});
