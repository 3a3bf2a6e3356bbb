import { describe, expect, it } from 'vitest';
import { CopyTextEncoder, RowShapeError, type CopyColumn } from './copy-text.js';

const COLUMNS: CopyColumn[] = [
  { name: 'id', json: false },
  { name: 'name', json: false },
  { name: 'amount', json: false },
  { name: 'active', json: false },
  { name: 'data', json: true },
];

const UNTAGGED = { taggedJson: false };

function encode(rows: string[], columns = COLUMNS, options = UNTAGGED): string {
  const encoder = new CopyTextEncoder(columns, options);
  for (const r of rows) encoder.encode(Buffer.from(r, 'utf8'));
  return encoder.take().toString('utf8');
}

function failure(row: string, columns = COLUMNS, options = UNTAGGED): RowShapeError {
  try {
    encode([row], columns, options);
  } catch (err) {
    if (err instanceof RowShapeError) return err;
    throw err;
  }
  throw new Error('expected a RowShapeError');
}

describe('CopyTextEncoder', () => {
  it('writes one tab-separated line per row, null as \\N', () => {
    expect(
      encode([
        '{"id":"a","name":"Ada","amount":"10.250","active":true,"data":null}',
        '{"id":"b","name":null,"amount":-1.5e3,"active":false,"data":{"k": [1, "x"]}}',
      ]),
    ).toBe('a\tAda\t10.250\ttrue\t\\N\nb\t\\N\t-1.5e3\tfalse\t{"k": [1, "x"]}\n');
  });

  it('keeps JSON escapes that mean the same in COPY text, and rewrites \\u escapes', () => {
    const row = JSON.stringify({
      id: 'a',
      name: 'tab\there "q" back\\slash /\n\r\b\f \u0001 é 😀 \\N',
      amount: '1',
      active: true,
      data: null,
    });
    // JSON.stringify writes \u0001 as an escape, é and the emoji as UTF-8.
    expect(encode([row])).toBe('a\ttab\\there \\"q\\" back\\\\slash /\\n\\r\\b\\f \\x01 é 😀 \\\\N\t1\ttrue\t\\N\n');
    expect(encode(['{"id":"\\u00e9\\ud83d\\ude00\\u005c","name":"","amount":0,"active":true,"data":null}'])).toBe(
      'é😀\\x5c\t\t0\ttrue\t\\N\n',
    );
  });

  it('keeps a json value as JSON text, with COPY special bytes escaped', () => {
    const out = encode(['{"id":"a","name":"n","amount":1,"active":true,"data":{"s": "a\\\\b\\"c\\u0001", "t":\t"x"}}']);
    expect(out).toBe('a\tn\t1\ttrue\t{"s": "a\\\\\\\\b\\\\"c\\\\u0001", "t":\\t"x"}\n');
    expect(encode(['{"id":"a","name":"n","amount":1,"active":true,"data":"just text"}'])).toBe(
      'a\tn\t1\ttrue\t"just text"\n',
    );
    expect(encode(['{"id":"a","name":"n","amount":1,"active":true,"data":[]}'])).toBe('a\tn\t1\ttrue\t[]\n');
    expect(encode(['{"id":"a","name":"n","amount":1,"active":true,"data":12.50}'])).toBe('a\tn\t1\ttrue\t12.50\n');
  });

  it('accepts whitespace between tokens', () => {
    expect(encode([' { "id" : "a" , "name" : "n" , "amount" : 1 , "active" : true , "data" : null } '])).toBe(
      'a\tn\t1\ttrue\t\\N\n',
    );
  });

  it('hands over what was encoded since the last take, and keeps nothing of a refused row', () => {
    const encoder = new CopyTextEncoder(COLUMNS, UNTAGGED);
    encoder.encode(Buffer.from('{"id":"a","name":"n","amount":1,"active":true,"data":null}'));
    expect(() => encoder.encode(Buffer.from('{"id":"b","name":"n","amount":1,"active":true,"data":'))).toThrow(
      RowShapeError,
    );
    expect(encoder.take().toString()).toBe('a\tn\t1\ttrue\t\\N\n');
    expect(encoder.take().length).toBe(0);
    const big = 'x'.repeat(300 * 1024);
    encoder.encode(Buffer.from(`{"id":"${big}","name":"n","amount":1,"active":true,"data":null}`));
    encoder.encode(Buffer.from('{"id":"c","name":"n","amount":1,"active":true,"data":null}'));
    expect(encoder.take().toString()).toBe(`${big}\tn\t1\ttrue\t\\N\nc\tn\t1\ttrue\t\\N\n`);
  });

  it('counts rows across calls, so errors name the row of the table', () => {
    const encoder = new CopyTextEncoder(COLUMNS, UNTAGGED);
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

  it('brings every character PostgreSQL text can hold through a text column exactly, escaped or raw', () => {
    const all = [
      ...Array.from({ length: 0x7f }, (_, k) => String.fromCharCode(k + 1)),
      'é',
      '\u2028',
      '\uffff',
      '😀',
      '\u{10ffff}',
      '\\N',
    ].join('');
    // JSON.stringify escapes the controls (\t short, \u0001 long) and leaves DEL and the rest raw.
    for (const text of [all, ...all]) {
      const line = encode([JSON.stringify({ id: 'a', name: text, amount: 1, active: true, data: null })]);
      expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
      const fields = line.slice(0, -1).split('\t');
      expect(fields).toHaveLength(COLUMNS.length);
      expect(decodeCopyField(fields[1]!)).toBe(text);
    }
    // Every escape JSON has, written the long way too.
    const escapes = '"\\b\\f\\n\\r\\t\\/\\\\\\"\\u0009\\u000A\\u001f\\u007F\\u00e9\\uD83D\\uDE00"';
    const line = encode([`{"id":${escapes},"name":"","amount":1,"active":true,"data":null}`]);
    expect(decodeCopyField(line.split('\t')[0]!)).toBe(JSON.parse(escapes));
  });

  it.each(Array.from({ length: 0x20 }, (_, b) => b))(
    'refuses raw control character %i inside a string, naming the field',
    (b) => {
      const raw = String.fromCharCode(b);
      for (const [row, field] of [
        [`{"id":"a","name":"x${raw}y","amount":1,"active":true,"data":null}`, 'name'],
        [`{"id":"a","name":"n","amount":1,"active":true,"data":{"k":"x${raw}y"}}`, 'data'],
        [`{"id":"a","name":"n","amount":1,"active":true,"data":"x${raw}"}`, 'data'],
      ] as const) {
        const err = failure(row);
        expect(err.message).toMatch(/raw control character U\+00[01][0-9A-F]/);
        expect(err.field).toBe(field);
      }
    },
  );

  it('keeps DEL (U+007F) raw: JSON allows it and PostgreSQL text holds it', () => {
    expect(encode(['{"id":"a\u007f","name":"n","amount":1,"active":true,"data":{"k":"\u007f"}}'])).toBe(
      'a\u007f\tn\t1\ttrue\t{"k":"\u007f"}\n',
    );
  });

  it('names a string cut by a raw line break as one that does not close on its line', () => {
    expect(failure('{"id":"a","name":"first half').message).toMatch(/unterminated string .*raw line break/);
  });

  describe('json values of format 1.1 (tagged)', () => {
    const TAGGED = { taggedJson: true };
    const row = (data: string) => `{"id":"a","name":"n","amount":1,"active":true,"data":${data}}`;
    const dataOf = (data: string, options = TAGGED) =>
      encode([row(data)], COLUMNS, options)
        .split('\t')[4]!
        .slice(0, -1);

    it('reads null as SQL NULL and {"$json": v} as v, JSON null included', () => {
      expect(dataOf('null')).toBe('\\N');
      expect(dataOf('{"$json": null}')).toBe('null');
      expect(dataOf(' { "$json" : null } ')).toBe('null');
      expect(dataOf('{"$json": {"$json": 1}}')).toBe('{"$json": 1}');
      expect(dataOf('{"$json": [1, {"a": null}]}')).toBe('[1, {"a": null}]');
      expect(dataOf('{"$json": "s\\t"}')).toBe('"s\\\\t"');
      expect(dataOf('{"$json": 10.250}')).toBe('10.250');
    });

    it('keeps every other object as it is', () => {
      expect(dataOf('{"$json": 1, "b": 2}')).toBe('{"$json": 1, "b": 2}');
      expect(dataOf('{"a": 1, "$json": null}')).toBe('{"a": 1, "$json": null}');
      expect(dataOf('{"$jsonx": null}')).toBe('{"$jsonx": null}');
      expect(dataOf('{}')).toBe('{}');
    });

    it('reads a 1.0 file as written: nothing is untagged', () => {
      expect(dataOf('{"$json": null}', UNTAGGED)).toBe('{"$json": null}');
      expect(dataOf('null', UNTAGGED)).toBe('\\N');
    });

    it('only untags json columns', () => {
      expect(
        failure('{"id":"a","name":{"$json": "x"},"amount":1,"active":true,"data":null}', COLUMNS, TAGGED).message,
      ).toMatch(/an object is not a valid value/);
    });
  });

  it.each([
    ['[1]', /must be a JSON object/, undefined],
    ['{"id":"a","name":"n"}', /fields "amount", "active", "data" are missing/, 'name'],
    [
      '{"id":"a","nam":"n","amount":1,"active":true,"data":null}',
      /field "nam" found where "name" was expected/,
      'name',
    ],
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

/** What COPY's text format makes of one field (PostgreSQL's CopyReadAttributesText, for the escapes it has). */
function decodeCopyField(field: string): string | null {
  if (field === '\\N') return null;
  const raw = Buffer.from(field, 'utf8');
  const simple: Record<number, number> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x76: 11 };
  const isHex = (b: number | undefined) => b !== undefined && /[0-9a-fA-F]/.test(String.fromCharCode(b));
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) {
      bytes.push(raw[i]!);
      continue;
    }
    const e = raw[++i]!;
    if (simple[e] !== undefined) bytes.push(simple[e]);
    else if (e === 0x78 && isHex(raw[i + 1])) {
      const len = isHex(raw[i + 2]) ? 2 : 1;
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 1 + len), 16));
      i += len;
    } else bytes.push(e);
  }
  return Buffer.from(bytes).toString('utf8');
}
