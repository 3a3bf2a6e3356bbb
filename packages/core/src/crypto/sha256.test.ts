import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { digesting, Sha256Tally, sha256Of, tallied } from './sha256.js';

const chunks = [Buffer.from('{"metadata":'), Buffer.alloc(0), Buffer.from('{}}'), Buffer.from('\n')];
const whole = Buffer.concat(chunks);
const expected = { sha256: createHash('sha256').update(whole).digest('hex'), bytes: whole.length };

describe('sha256 helpers', () => {
  it('sha256Of reads a stream to its end', async () => {
    expect(await sha256Of(Readable.from(chunks))).toEqual(expected);
  });

  it('tallied passes the chunks unchanged and reports the running total', async () => {
    const tally = new Sha256Tally();
    const totals: number[] = [];
    const out: Buffer[] = [];
    for await (const c of tallied(Readable.from(chunks), tally, (n) => totals.push(n))) out.push(c);
    expect(Buffer.concat(out)).toEqual(whole);
    expect(totals.at(-1)).toBe(whole.length);
    expect(tally.result()).toEqual(expected);
    expect(tally.result()).toEqual(expected); // a second read gives the same digest
    expect(() => tally.add(Buffer.from('x'))).toThrow();
  });

  it('digesting hashes what flows through', async () => {
    const d = digesting(Readable.from(chunks));
    const out: Buffer[] = [];
    for await (const c of d.stream) out.push(c as Buffer);
    expect(Buffer.concat(out)).toEqual(whole);
    expect(d.result()).toEqual(expected);
  });
});
