import { describe, expect, it } from 'vitest';
import { settleWithin } from './timeout.js';

const never = new Promise<string>(() => {});

describe('settleWithin', () => {
  it('answers with the promise when it settles first', async () => {
    await expect(settleWithin(Promise.resolve('done'), 60_000, () => 'late')).resolves.toBe('done');
    await expect(settleWithin(Promise.reject(new Error('broke')), 60_000, () => 'late')).rejects.toThrow('broke');
  });

  it('answers with the fallback, or fails with what onTimeout throws, when the time passes first', async () => {
    await expect(settleWithin(never, 1, () => null)).resolves.toBeNull();
    await expect(
      settleWithin(never, 1, () => {
        throw new Error('timed out');
      }),
    ).rejects.toThrow('timed out');
  });
});
