import { describe, expect, it } from 'vitest';
import { nextRunsOf } from '../schedule/next-runs.js';
import { previousRunOf } from './previous-run.js';

describe('previousRunOf', () => {
  it('counts a run exactly at the instant, and is null when disabled', () => {
    const due = new Date('2026-06-10T01:00:00Z'); // 02:00 in Lagos
    expect(previousRunOf('daily', 'Africa/Lagos', due)).toEqual(due);
    expect(previousRunOf('daily', 'Africa/Lagos', new Date(due.getTime() - 1))).toEqual(
      new Date('2026-06-09T01:00:00Z'),
    );
    expect(previousRunOf('disabled', 'Africa/Lagos', due)).toBeNull();
  });

  // The mirror of nextRunsOf around both daylight-saving changes: no run lies between the answer and the instant.
  // (cron-parser's own prev() fails this on the spring-forward day: it skips the run next() moves to 03:00.)
  const windows = [
    ['2026-03-01', '2026-03-17'],
    ['2026-10-25', '2026-11-10'],
    ['2026-12-20', '2027-01-05'],
  ] as const;
  it.each(['daily', 'weekly', 'monthly'] as const)(
    'agrees with nextRunsOf for %s runs in America/New_York',
    (frequency) => {
      const tz = 'America/New_York';
      for (const [start, end] of windows) {
        for (
          let t = Date.parse(`${start}T00:00:00Z`);
          t < Date.parse(`${end}T00:00:00Z`);
          t += 9 * 3600_000 + 7 * 60_000
        ) {
          const at = new Date(t);
          const prev = previousRunOf(frequency, tz, at)!;
          expect(prev.getTime()).toBeLessThanOrEqual(t);
          expect(nextRunsOf(frequency, tz, new Date(prev.getTime() - 1), 1)[0]).toEqual(prev);
          expect(nextRunsOf(frequency, tz, prev, 1)[0]!.getTime()).toBeGreaterThan(t);
        }
      }
    },
  );
});
