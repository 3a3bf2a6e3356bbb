import { describe, expect, it } from 'vitest';
import { jsonObjectProblem } from './json-check.js';

/** What the read-back checked before: `JSON.parse` of the UTF-8 text, and an object (not an array, not null). */
function parsesAsObject(bytes: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

const VALID = [
  '{}',
  ' { } ',
  '{"a":1}',
  '{"id":"c1","amount":"1050.25","n":-0.5e+10,"m":0,"f":1E-2,"ok":true,"no":false,"x":null}',
  '{"before":{"a":[1,2,{"b":[]}],"c":{}},"after":[[],[[]],{}],"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D"}',
  '{"é":"naïve – ünïcödé 😀","k":"\u007f"}',
  '{\n"a" :\t[ 1 ,\r\n2 ] }\n',
  '{"$json":null}',
];

const INVALID = [
  '',
  '   ',
  '[]',
  '[{"a":1}]',
  'null',
  '"{}"',
  '1',
  '{',
  '}',
  '{"a"}',
  '{"a":}',
  '{"a":1,}',
  '{,"a":1}',
  '{"a":1 "b":2}',
  '{"a":[1,]}',
  '{"a":[1 2]}',
  '{"a":[}',
  '{"a":{]}',
  '{a:1}',
  "{'a':1}",
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":1e}',
  '{"a":1e+}',
  '{"a":-}',
  '{"a":+1}',
  '{"a":0x10}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":tru}',
  '{"a":True}',
  '{"a":nul}',
  '{"a":nulll}',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":"\\u12G4"}',
  '{"a":"\\\'"}',
  '{"a":"tab\there"}',
  '{"a":"line\nbreak"}',
  '{"a":"nul\u0000"}',
  '{"a":"unterminated}',
  '{"a":1}}',
  '{"a":1} x',
  '{"a":1}{"b":2}',
  '{"a":1]',
  '{"a":[1}',
  '\ufeff{"a":1}',
];

describe('jsonObjectProblem', () => {
  it.each(VALID)('accepts %j, as JSON.parse does', (text) => {
    const bytes = Buffer.from(text);
    expect(parsesAsObject(bytes)).toBe(true);
    expect(jsonObjectProblem(bytes)).toBeNull();
  });

  it.each(INVALID)('refuses %j, as JSON.parse does', (text) => {
    const bytes = Buffer.from(text);
    expect(parsesAsObject(bytes)).toBe(false);
    expect(jsonObjectProblem(bytes)).toEqual(expect.any(String));
  });

  it('checks a row where it lies in a larger buffer: the bytes around it never change the verdict', () => {
    // Bytes that would close, continue or complete a cut row if they were read as part of it.
    const before = Buffer.from('{"x":[');
    const after = Buffer.from('}]}"1e5 true}');
    for (const text of [...VALID, ...INVALID, '{', '{"a":[', '{"a":{', '{"a":1', '{"a":tr']) {
      const row = Buffer.from(text);
      const inBuffer = Buffer.concat([before, row, after]);
      expect([text, jsonObjectProblem(inBuffer, before.length, before.length + row.length)]).toEqual([
        text,
        jsonObjectProblem(row),
      ]);
    }
    expect(jsonObjectProblem(Buffer.from('{"a":1,"b":x}'))).toBe('a value expected (byte 11)');
    expect(jsonObjectProblem(Buffer.from(',,{"a":1,"b":x}\n'), 2, 15)).toBe('a value expected (byte 11)');
  });

  it('accepts bytes that are not UTF-8 inside strings (JSON.parse sees U+FFFD) and refuses them outside', () => {
    const inside = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]);
    const outside = Buffer.concat([Buffer.from('{"a":1'), Buffer.from([0xff]), Buffer.from('}')]);
    expect([parsesAsObject(inside), jsonObjectProblem(inside)]).toEqual([true, null]);
    expect(parsesAsObject(outside)).toBe(false);
    expect(jsonObjectProblem(outside)).toEqual(expect.any(String));
  });

  it('agrees with JSON.parse on every one-byte change of real rows (seeded)', () => {
    const rows = VALID.slice(2, 6).map((t) => Buffer.from(t));
    // A byte alphabet of JSON's structure, digits, letters of the literals and escapes, controls and high bytes.
    const alphabet = Buffer.from('{}[],:"\\ \t\n0123456789-+.eEtrufalsnx/bfu\u0001\u007f');
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let disagreements = 0;
    let checked = 0;
    let stillValid = 0;
    for (const row of rows) {
      for (let round = 0; round < 1500; round++) {
        const bad = Buffer.from(row);
        const at = random(bad.length);
        const op = random(3);
        let mutated: Buffer;
        if (op === 0) {
          bad[at] = alphabet[random(alphabet.length)]!;
          mutated = bad;
        } else if (op === 1) mutated = Buffer.concat([bad.subarray(0, at), bad.subarray(at + 1)]);
        else
          mutated = Buffer.concat([
            bad.subarray(0, at),
            alphabet.subarray(random(alphabet.length)).subarray(0, 1),
            bad.subarray(at),
          ]);
        checked++;
        if (parsesAsObject(mutated)) stillValid++;
        if (parsesAsObject(mutated) !== (jsonObjectProblem(mutated) === null)) disagreements++;
      }
    }
    expect(checked).toBe(6000);
    // Both sides of the question are asked: some changes keep the row valid (a digit for a digit), most break it.
    expect(stillValid).toBeGreaterThan(100);
    expect(stillValid).toBeLessThan(5000);
    expect(disagreements).toBe(0);
  });
});
