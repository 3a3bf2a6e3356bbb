import { describe, expect, it } from 'vitest';
import { BackupScanner, ScanError, type ScanEvent } from './json-scanner.js';

/** Feeds `text` in chunks of `size` bytes and collects rows per table plus metadata. */
function scan(
  text: string,
  size = 7,
): { metadata: unknown; tables: Record<string, unknown[]>; counts: Record<string, number> } {
  const scanner = new BackupScanner();
  const bytes = Buffer.from(text, 'utf8');
  const events: ScanEvent[] = [];
  for (let i = 0; i < bytes.length; i += size) events.push(...scanner.push(bytes.subarray(i, i + size)));
  events.push(...scanner.end());
  const tables: Record<string, unknown[]> = {};
  const counts: Record<string, number> = {};
  let metadata: unknown;
  for (const e of events) {
    if (e.type === 'metadata') metadata = e.value;
    if (e.type === 'tableStart') tables[e.key] = [];
    if (e.type === 'rows') tables[e.key]!.push(...e.rows.map((r) => JSON.parse(r.toString('utf8'))));
    if (e.type === 'tableEnd') counts[e.key] = e.count;
  }
  return { metadata, tables, counts };
}

const doc = {
  metadata: { version: '1.0', recordCounts: { users: 2 } },
  data: {
    users: [
      { id: 'a', name: 'Adéwálé "Wale" O\\brien', notes: 'line\nbreak ]}{[,' },
      { id: 'b', nested: { deep: [1, 2, { x: '\\"' }] }, n: -1.5e3, t: true, z: null },
    ],
    loans: [],
  },
};

describe('BackupScanner', () => {
  it.each([1, 2, 3, 7, 64, 100_000])('yields every row intact with chunks of %i bytes', (size) => {
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
      const out = scan(text, size);
      expect(out.metadata).toEqual(doc.metadata);
      expect(out.tables).toEqual(doc.data);
      expect(out.counts).toEqual({ users: 2, loans: 0 });
    }
  });

  it('accepts metadata after data and ignores unknown top-level keys', () => {
    const text = JSON.stringify({ data: doc.data, extra: [1, { a: '}' }], metadata: doc.metadata });
    const out = scan(text);
    expect(out.metadata).toEqual(doc.metadata);
    expect(out.tables.users).toHaveLength(2);
  });

  it('puts each pretty-printed row on one line', () => {
    const scanner = new BackupScanner();
    const events = scanner.push(Buffer.from(JSON.stringify(doc, null, 2)));
    const rows = events.flatMap((e) => (e.type === 'rows' ? e.rows : []));
    for (const row of rows) expect(row.includes(0x0a)).toBe(false);
  });

  it.each([
    ['not an object', '[1,2]', 'must start with'],
    ['truncated', JSON.stringify(doc).slice(0, 60), 'ends before'],
    ['data not an object', '{"metadata":{"version":"1.0"},"data":[1]}', '"data" must be an object'],
    ['table not an array', '{"metadata":{"version":"1.0"},"data":{"users":{}}}', 'must be an array'],
    ['no metadata', '{"data":{}}', 'no "metadata"'],
    ['no data', '{"metadata":{}}', 'no "data"'],
    ['trailing garbage', '{"metadata":{},"data":{}} x', 'after the end'],
    ['duplicate table', '{"metadata":{},"data":{"users":[],"users":[]}}', 'Duplicate key'],
    ['missing comma between rows', '{"metadata":{},"data":{"users":[{"a":1} {"a":2}]}}', 'Expected "," or "]"'],
  ])('rejects a file that is %s', (_name, text, message) => {
    expect(() => scan(text, 5)).toThrow(ScanError);
    expect(() => scan(text, 5)).toThrow(message);
  });
});
