import { describe, expect, it } from 'vitest';
import { ScanError } from './json-scanner.js';
import { LineReader, ourLayoutMetadata, type LineEvent } from './line-reader.js';
import { RowShapeError, type CopyColumn } from './copy-text.js';

const COLUMNS: Record<string, CopyColumn[]> = {
  users: [
    { name: 'id', json: false },
    { name: 'name', json: false },
  ],
  loans: [
    { name: 'id', json: false },
    { name: 'meta', json: true },
  ],
};

const META = '{"metadata":{"version":"1.0","app":"millennium-potters"},';

/** What `fn` throws (failing the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** Reads `text` (after its metadata line) in pieces of `size` bytes; returns the tables' COPY text and counts. */
function read(
  text: string,
  size: number,
  taggedJson = false,
): { copy: Record<string, string>; counts: Record<string, number>; order: string[] } {
  const bytes = Buffer.from(text, 'utf8');
  const first = bytes.indexOf(0x0a) + 1;
  const reader = new LineReader((key) => COLUMNS[key], first, { taggedJson });
  const events: LineEvent[] = [];
  for (let i = first; i < bytes.length; i += size)
    events.push(...reader.push(bytes.subarray(i, Math.min(i + size, bytes.length))));
  events.push(...reader.end());
  const copy: Record<string, string> = {};
  const counts: Record<string, number> = {};
  const order: string[] = [];
  let rows = 0;
  for (const e of events) {
    if (e.type === 'tableStart') {
      copy[e.key] ??= '';
      order.push(e.key);
    }
    if (e.type === 'copyText') {
      copy[e.key] += e.data.toString('utf8');
      rows += e.rows;
    }
    if (e.type === 'tableEnd') {
      counts[e.key] = e.count;
      expect(rows).toBe(e.count);
      rows = 0;
    }
  }
  return { copy, counts, order };
}

const FILE = [
  META,
  '"data":{',
  '"users":[',
  '{"id":"u1","name":"Adéwálé \\"Wale\\""}',
  ',{"id":"u2","name":null}',
  '],',
  '"loans":[',
  '{"id":"l1","meta":{"a": [1, "x,y"], "b": "}"}}',
  ']',
  '}}',
  '',
].join('\n');

describe('LineReader', () => {
  it('reads the metadata line of our layout, and nothing else', () => {
    expect(ourLayoutMetadata(META)).toEqual({ version: '1.0', app: 'millennium-potters' });
    expect(ourLayoutMetadata('{"metadata":{"version":"1.0"}, "data":{')).toBeUndefined();
    expect(ourLayoutMetadata('{ "metadata": {} ,')).toBeUndefined();
    expect(ourLayoutMetadata('{"metadata":{broken},')).toBeUndefined();
  });

  it.each([1, 3, 7, 64, 1 << 16])(
    'hands over every row of each table before its end, whatever the piece size (%i bytes)',
    (size) => {
      const { copy, counts, order } = read(FILE, size);
      expect(order).toEqual(['users', 'loans']);
      expect(counts).toEqual({ users: 2, loans: 1 });
      expect(copy.users).toBe('u1\tAdéwálé \\"Wale\\"\nu2\t\\N\n');
      expect(copy.loans).toBe('l1\t{"a": [1, "x,y"], "b": "}"}\n');
    },
  );

  it.each([
    ['an unknown table', `${META}\n"data":{\n"payments":[\n]\n}}\n`, /unknown table "data.payments" \(line 3\)/],
    [
      'a row without its comma',
      `${META}\n"data":{\n"users":[\n{"id":"a","name":"b"}\n{"id":"c","name":"d"}\n]\n}}\n`,
      /a row must start with ","/,
    ],
    [
      'a first row with a comma',
      `${META}\n"data":{\n"users":[\n,{"id":"a","name":"b"}\n]\n}}\n`,
      /must not start with ","/,
    ],
    ['text after the end', `${META}\n"data":{\n"users":[\n]\n}}\n{}\n`, /nothing expected after the end/],
    ['an early end', `${META}\n"data":{\n"users":[\n{"id":"a","name":"b"}\n`, /the file ends early/],
    ['no final newline', `${META}\n"data":{\n"users":[\n]\n}}`, /does not end with a newline/],
    ['pretty-printed data', `${META}\n  "data": {\n`, /"data":\{ expected/],
    [
      'a table twice',
      `${META}\n"data":{\n"users":[\n],\n"users":[\n]\n}}\n`,
      /table "data.users" appears twice \(line 5\)/,
    ],
  ])('refuses %s', (_name, text, message) => {
    const caught = thrown(() => read(text, 4));
    expect(caught).toBeInstanceOf(ScanError);
    expect((caught as Error).message).toMatch(message);
  });

  it('passes on a row that does not fit its columns, with its index in the table', () => {
    const text = `${META}\n"data":{\n"users":[\n{"id":"a","name":"b"}\n,{"id":"c","nom":"d"}\n]\n}}\n`;
    const caught = thrown(() => read(text, 3));
    expect(caught).toBeInstanceOf(RowShapeError);
    expect((caught as RowShapeError).row).toBe(1);
    expect((caught as RowShapeError).field).toBe('name');
    expect((caught as RowShapeError).table).toBe('users');
  });

  it.each([
    ['a raw tab', '\t'],
    ['a raw carriage return', '\r'],
    ['a raw NUL', '\u0000'],
    ['a raw line break', '\n'],
  ])('refuses %s inside a string, naming the table, row and field', (_name, raw) => {
    const text = `${META}\n"data":{\n"users":[\n{"id":"a","name":"b"}\n,{"id":"c","name":"x${raw}y"}\n]\n}}\n`;
    const caught = thrown(() => read(text, 5));
    expect(caught).toBeInstanceOf(RowShapeError);
    expect((caught as RowShapeError).message).toMatch(raw === '\n' ? /unterminated string/ : /raw control character/);
    expect((caught as RowShapeError).table).toBe('users');
    expect((caught as RowShapeError).row).toBe(1);
    expect((caught as RowShapeError).field).toBe('name');
  });

  it('untags the json values of a 1.1 file, and only of one', () => {
    const text =
      `${META}\n"data":{\n"loans":[\n{"id":"l1","meta":{"$json": ` +
      `null}}\n,{"id":"l2","meta":null}\n,{"id":"l3","meta":{"$json": {"$json": 2}}}\n]\n}}\n`;
    expect(read(text, 7, true).copy.loans).toBe('l1\tnull\nl2\t\\N\nl3\t{"$json": 2}\n');
    expect(read(text, 7, false).copy.loans).toBe('l1\t{"$json": null}\nl2\t\\N\nl3\t{"$json": {"$json": 2}}\n');
  });
});
