import { describe, expect, it } from 'vitest';
import { tableBars } from './progress.js';

const progress = (table: string | null, rows: number | null) => ({ percent: 50, stage: 'exporting', table, rows });
// As stored JSON (jsonb) may order them: not the export order.
const counts = { loans: 150, users: 27, unions: 10, repayments: 450 };

describe('tableBars', () => {
  it('fills the tables exported before the current one and part of the current one, in export order', () => {
    // users (27) and unions (10) are done; 40 of the 150 loans.
    expect(tableBars(progress('loans', 27 + 10 + 40), counts, false)).toEqual([
      { name: 'users', rows: 27, total: 27 },
      { name: 'unions', rows: 10, total: 10 },
      { name: 'loans', rows: 40, total: 150 },
      { name: 'repayments', rows: 0, total: 450 },
    ]);
  });

  it('fills every bar once the job is done, and shows none without counts', () => {
    expect(tableBars(progress(null, null), counts, true)?.every((b) => b.rows === b.total)).toBe(true);
    expect(tableBars(progress('loans', 10), null, false)).toBeNull();
  });

  it('never shows more rows than a table has', () => {
    expect(tableBars(progress('users', 10_000), counts, false)?.[0]).toEqual({ name: 'users', rows: 27, total: 27 });
  });
});
