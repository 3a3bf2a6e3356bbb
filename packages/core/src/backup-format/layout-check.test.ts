import { describe, expect, it } from 'vitest';
import { ScanError } from './json-scanner.js';
import { LayoutChecker, LayoutRowError } from './layout-check.js';

const META = '{"metadata":{"version":"1.1"},\n';
const BODY =
  '"data":{\n"users":[\n{"id":"u1","n":1}\n,{"id":"u2","n":[true,{"x":null}]}\n],\n' +
  '"loans":[\n],\n"repayments":[\n{"id":"r1"}\n]\n}}\n';

/** Runs the checker over `body` cut into pieces of `size` bytes; the counts, or the error. */
function check(body: string, size = body.length): Map<string, number> | Error {
  const bytes = Buffer.from(body);
  const checker = new LayoutChecker(Buffer.byteLength(META));
  try {
    for (let i = 0; i < bytes.length; i += size) checker.push(bytes.subarray(i, i + size));
    checker.end();
    return checker.counts;
  } catch (err) {
    return err as Error;
  }
}

describe('LayoutChecker', () => {
  it('counts the rows of every table, wherever the pieces are cut', () => {
    for (let size = 1; size <= BODY.length; size++) {
      expect(check(BODY, size), `pieces of ${size}`).toEqual(
        new Map([
          ['users', 2],
          ['loans', 0],
          ['repayments', 1],
        ]),
      );
    }
  });

  it.each([
    [
      'a row that is not JSON',
      BODY.replace('{"id":"u1","n":1}', '{"id":"u1","n":01}'),
      'users: row 0 is not valid JSON',
    ],
    [
      'a row that is an array',
      BODY.replace(',{"id":"u2"', ',[{"id":"u2"').replace('}]}\n]', '}]}]\n]'),
      'users: row 1 is not a JSON object',
    ],
    ['a row cut short', BODY.replace('{"id":"r1"}', '{"id":"r1"'), 'repayments: row 0 is not valid JSON'],
  ])('refuses %s, naming the table and row', (_name, body, message) => {
    const err = check(body, 7);
    expect(err).toBeInstanceOf(LayoutRowError);
    expect((err as Error).message).toContain(message);
  });

  it.each([
    ['no "data" line', BODY.replace('"data":{', '"dat":{')],
    ['a second row without its comma', BODY.replace(',{"id":"u2"', '{"id":"u2"')],
    ['a first row with a comma', BODY.replace('{"id":"u1"', ',{"id":"u1"')],
    ['a table twice', BODY.replace('"loans":[', '"users":[')],
    ['a bad table line', BODY.replace('"loans":[', '"loans": [')],
    ['no closing line', BODY.replace('}}\n', '')],
    ['no final newline', BODY.slice(0, -1)],
    ['content after the end', `${BODY}{}\n`],
    ['a bad end of table', BODY.replace('],\n"loans"', ']]\n"loans"')],
  ])('refuses a document with %s as a structure error', (_name, body) => {
    expect(check(body, 5)).toBeInstanceOf(ScanError);
  });
});
