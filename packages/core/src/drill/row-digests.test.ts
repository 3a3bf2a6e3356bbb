import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { canonicalJson, digestBackupDocument } from './row-digests.js';

const doc = (rows: string[]) =>
  `{"metadata":{"version":"1.1"},\n"data":{\n"loans":[\n${rows.join(',\n')}\n],\n"users":[\n]\n}}\n`;
const digest = (text: string | Buffer) => digestBackupDocument(Readable.from([Buffer.from(text)]));

describe('digestBackupDocument', () => {
  const a = '{"id":"1","amount":"10.00","meta":{"b":1,"a":[2,{"y":null,"x":true}]}}';
  const b = '{"id":"2","amount":"20.00","meta":null}';

  it('counts rows per table and ignores row order, field order and gzip', async () => {
    const base = await digest(doc([a, b]));
    expect(base.loans?.rows).toBe(2);
    expect(base.users).toEqual({ rows: 0, digest: '0'.repeat(32) });
    const reordered = '{"meta":{"a":[2,{"x":true,"y":null}],"b":1},"amount":"10.00","id":"1"}';
    expect(await digest(doc([b, reordered]))).toEqual(base);
    expect(await digest(gzipSync(doc([a, b])))).toEqual(base);
  });

  it('tells apart a changed value, a missing row and a value of another type', async () => {
    const base = (await digest(doc([a, b]))).loans!.digest;
    expect((await digest(doc([a, b.replace('20.00', '20.01')]))).loans!.digest).not.toBe(base);
    expect((await digest(doc([a]))).loans).not.toEqual({ rows: 2, digest: base });
    expect((await digest(doc([a, b.replace('"20.00"', '20.00')]))).loans!.digest).not.toBe(base);
  });

  it('refuses a document that is not a backup', async () => {
    await expect(digest('{"metadata":{},"data":{"loans":[{"id":1}')).rejects.toThrow();
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps arrays in order', () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[3,{"c":2,"d":1}]}');
  });
});
