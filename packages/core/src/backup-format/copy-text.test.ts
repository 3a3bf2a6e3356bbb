import { describe, expect, it } from 'vitest';
import { CopyTextEncoder, RowShapeError, type CopyColumn } from './copy-text.js';

const COLUMNS: CopyColumn[] = [
  { name: 'id', json: false },
  { name: 'name', json: false },
  { name: 'amount', json: false },
  { name: 'active', json: false },
  { name: 'data', json: true },
];

function encode(rows: string[], columns = COLUMNS): string {
  const encoder = new CopyTextEncoder(columns);
  for (const r of rows) encoder.encode(Buffer.from(r, 'utf8'));
  return encoder.take().toString('utf8');
}

function failure(row: string, columns = COLUMNS): RowShapeError {
  try {
    encode([row], columns);
  } catch (err) {
    if (err instanceof RowShapeError) return err;
    throw err;
  }
  throw new Error('expected a RowShapeError');
}

describe('CopyTextEncoder', () => {
  it('writes one tab-separated line per row, null as \\N', () => {
    expect(encode(['{"id":"a","name":"Ada","amount":"10.250","active":true,"data":null}', '{"id":"b","name":null,"amount":-1.5e3,"active":false,"data":{"k": [1, "x"]}}'])).toBe(
      'a\tAda\t10.250\ttrue\t\\N\nb\t\\N\t-1.5e3\tfalse\t{"k": [1, "x"]}\n',
    );
  });

  it('keeps JSON escapes that mean the same in COPY text, and rewrites \\u escapes', () => {
    const row = JSON.stringify({ id: 'a', name: 'tab\there "q" back\\slash /\n\r\b\f \u0001 é 😀 \\N', amount: '1', active: true, data: null });
    // JSON.stringify writes \u0001 as an escape, é and the emoji as UTF-8.
    expect(encode([row])).toBe('a\ttab\\there \\"q\\" back\\\\slash /\\n\\r\\b\\f \\x01 é 😀 \\\\N\t1\ttrue\t\\N\n');
    expect(encode(['{"id":"\\u00e9\\ud83d\\ude00\\u005c","name":"","amount":0,"active":true,"data":null}'])).toBe('é😀\\x5c\t\t0\ttrue\t\\N\n');
  });

  it('keeps a json value as JSON text, with COPY special bytes escaped', () => {
    const out = encode(['{"id":"a","name":"n","amount":1,"active":true,"data":{"s": "a\\\\b\\"c\\u0001", "t":\t"x"}}']);
    expect(out).toBe('a\tn\t1\ttrue\t{"s": "a\\\\\\\\b\\\\"c\\\\u0001", "t":\\t"x"}\n');
    expect(encode(['{"id":"a","name":"n","amount":1,"active":true,"data":"just text"}'])).toBe('a\tn\t1\ttrue\t"just text"\n');
    expect(encode(['{"id":"a","name":"n","amount":1,"active":true,"data":[]}'])).toBe('a\tn\t1\ttrue\t[]\n');
    expect(encode(['{"id":"a","name":"n","amount":1,"active":true,"data":12.50}'])).toBe('a\tn\t1\ttrue\t12.50\n');
  });

  it('accepts whitespace between tokens', () => {
    expect(encode([' { "id" : "a" , "name" : "n" , "amount" : 1 , "active" : true , "data" : null } '])).toBe('a\tn\t1\ttrue\t\\N\n');
  });

  it('hands over what was encoded since the last take, and keeps nothing of a refused row', () => {
    const encoder = new CopyTextEncoder(COLUMNS);
    encoder.encode(Buffer.from('{"id":"a","name":"n","amount":1,"active":true,"data":null}'));
    expect(() => encoder.encode(Buffer.from('{"id":"b","name":"n","amount":1,"active":true,"data":'))).toThrow(RowShapeError);
    expect(encoder.take().toString()).toBe('a\tn\t1\ttrue\t\\N\n');
    expect(encoder.take().length).toBe(0);
    const big = 'x'.repeat(300 * 1024);
    encoder.encode(Buffer.from(`{"id":"${big}","name":"n","amount":1,"active":true,"data":null}`));
    encoder.encode(Buffer.from('{"id":"c","name":"n","amount":1,"active":true,"data":null}'));
    expect(encoder.take().toString()).toBe(`${big}\tn\t1\ttrue\t\\N\nc\tn\t1\ttrue\t\\N\n`);
  });

  it('counts rows across calls, so errors name the row of the table', () => {
    const encoder = new CopyTextEncoder(COLUMNS);
    encoder.encode(Buffer.from('{"id":"a","name":"n","amount":1,"active":true,"data":null}'));
    encoder.encode(Buffer.from('{"id":"a","name":"n","amount":1,"active":true,"data":null}'));
    let caught: unknown;
    try {
      encoder.encode(Buffer.from('{"id":"b"}'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RowShapeError);
    expect((caught as RowShapeError).row).toBe(2);
  });

  it('leaves a raw tab in a string to PostgreSQL: the line gets a field too many, which COPY refuses', () => {
    expect(encode(['{"id":"a","name":"raw \t tab","amount":1,"active":true,"data":null}']).split('\t')).toHaveLength(COLUMNS.length + 1);
  });

  it.each([
    ['[1]', /must be a JSON object/, undefined],
    ['{"id":"a","name":"n"}', /fields "amount", "active", "data" are missing/, 'name'],
    ['{"id":"a","nam":"n","amount":1,"active":true,"data":null}', /field "nam" found where "name" was expected/, 'name'],
    ['{"name":"n","id":"a","amount":1,"active":true,"data":null}', /field "name" found where "id" was expected/, 'id'],
    ['{"id":"a","name":"n","amount":1,"active":true,"data":null,"extra":1}', /unknown field/, undefined],
    ['{"id":"a","name":{"x":1},"amount":1,"active":true,"data":null}', /an object is not a valid value/, 'name'],
    ['{"id":"a","name":["x"],"amount":1,"active":true,"data":null}', /an array is not a valid value/, 'name'],
    ['{"id":"a","name":abc,"amount":1,"active":true,"data":null}', /not valid JSON/, 'name'],
    ['{"id":"a","name":"n","amount":1.2.3,"active":true,"data":null}', /not valid JSON/, 'amount'],
    ['{"id":"a","name":"n","amount":01,"active":true,"data":null}', /not valid JSON/, 'amount'],
    ['{"id":"a","name":"n","amount":1,"active":truee,"data":null}', /not valid JSON/, 'active'],
    ['{"id":"a","name":"bad \\x escape","amount":1,"active":true,"data":null}', /bad escape/, 'name'],
    ['{"id":"a","name":"nul \\u0000","amount":1,"active":true,"data":null}', /\\u0000/, 'name'],
    ['{"id":"a","name":"open', /unterminated/, 'name'],
    ['{"id":"a","name":"n","amount":1,"active":true,"data":{"a":1}} x', /text after the row/, undefined],
  ])('refuses %s', (row, message, field) => {
    const err = failure(row);
    expect(err.message).toMatch(message);
    expect(err.field).toBe(field);
    expect(err.row).toBe(0);
  });
});
