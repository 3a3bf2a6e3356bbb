import { describe, expect, it } from 'vitest';
import { createRepeatLimiter } from './index.js';

describe('createRepeatLimiter', () => {
  it('logs the first occurrence of a key, then once per interval with how many it left out', () => {
    let clock = 0;
    const limit = createRepeatLimiter(1_000, () => clock);
    const lines: Array<[string, number | undefined]> = [];
    const log = (key: string) => limit(key, (extra) => lines.push([key, extra.suppressed]));
    for (let i = 0; i < 20; i++) log('ECONNREFUSED');
    log('ETIMEDOUT');
    clock = 999;
    log('ECONNREFUSED');
    clock = 1_000;
    log('ECONNREFUSED');
    log('ECONNREFUSED');
    clock = 5_000;
    log('ECONNREFUSED');
    expect(lines).toEqual([
      ['ECONNREFUSED', undefined],
      ['ETIMEDOUT', undefined],
      ['ECONNREFUSED', 20],
      ['ECONNREFUSED', 1],
    ]);
  });
});
