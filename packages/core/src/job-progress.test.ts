import { describe, expect, it } from 'vitest';
import { normaliseProgress } from './jobs-status.js';
import { jobProgressSchema } from './job-progress.js';

describe('progress read back', () => {
  it('keeps the fields of the right type and drops the others', () => {
    expect(
      normaliseProgress(
        { percent: 40, stage: 'exporting', table: 'loans', rows: 'many', counts: { users: 3, loans: 'x' } },
        'running',
      ),
    ).toEqual({
      percent: 40,
      stage: 'exporting',
      table: 'loans',
      rows: null,
      counts: { users: 3 },
    });
  });

  it('fills a finished or queued job, and reads a bare number or junk', () => {
    expect(normaliseProgress(null, 'completed')).toEqual({
      percent: 100,
      stage: 'done',
      table: null,
      rows: null,
      counts: null,
    });
    expect(normaliseProgress([1, 2], 'queued')).toEqual({
      percent: 0,
      stage: null,
      table: null,
      rows: null,
      counts: null,
    });
    expect(normaliseProgress(7, 'running')).toEqual({ percent: 7, stage: null, table: null, rows: null, counts: null });
    expect(normaliseProgress({ counts: { users: 'x' } }, 'running').counts).toBeNull();
  });

  it('a reported progress has a known stage', () => {
    expect(jobProgressSchema.safeParse({ percent: 5, stage: 'exporting' }).success).toBe(true);
    expect(jobProgressSchema.safeParse({ percent: 5, stage: 'dancing' }).success).toBe(false);
  });
});
