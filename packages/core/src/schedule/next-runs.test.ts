import { describe, expect, it } from 'vitest';
import { nextRunsOf } from './next-runs.js';
import { patternOf } from './scheduler.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('nextRunsOf', () => {
  const from = new Date('2026-03-04T12:00:00Z'); // a Wednesday

  it('runs daily, weekly on Sunday and monthly on the 1st at 02:00 UTC', () => {
    expect(iso(nextRunsOf('daily', 'UTC', from, 2))).toEqual(['2026-03-05T02:00:00.000Z', '2026-03-06T02:00:00.000Z']);
    expect(iso(nextRunsOf('weekly', 'UTC', from, 2))).toEqual(['2026-03-08T02:00:00.000Z', '2026-03-15T02:00:00.000Z']);
    expect(iso(nextRunsOf('monthly', 'UTC', from, 2))).toEqual([
      '2026-04-01T02:00:00.000Z',
      '2026-05-01T02:00:00.000Z',
    ]);
  });

  it('reads 02:00 in the configured zone (Africa/Lagos is UTC+1, no DST)', () => {
    expect(iso(nextRunsOf('daily', 'Africa/Lagos', from, 1))).toEqual(['2026-03-05T01:00:00.000Z']);
    expect(iso(nextRunsOf('weekly', 'Africa/Lagos', from, 1))).toEqual(['2026-03-08T01:00:00.000Z']);
    expect(iso(nextRunsOf('monthly', 'Africa/Lagos', from, 1))).toEqual(['2026-04-01T01:00:00.000Z']);
  });

  it('stays at 02:00 local across the end of DST in New York (2026-11-01)', () => {
    const runs = nextRunsOf('daily', 'America/New_York', new Date('2026-10-30T12:00:00Z'), 4);
    // 02:00 EDT (UTC-4) before, 02:00 EST (UTC-5) from the change on.
    expect(iso(runs)).toEqual([
      '2026-10-31T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-02T07:00:00.000Z',
      '2026-11-03T07:00:00.000Z',
    ]);
    expect(iso(nextRunsOf('weekly', 'America/New_York', new Date('2026-10-20T12:00:00Z'), 3))).toEqual([
      '2026-10-25T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-08T07:00:00.000Z',
    ]);
  });

  it('keeps one run on the spring-forward day (2027-03-14) and returns to 02:00 local after it', () => {
    const runs = nextRunsOf('daily', 'America/New_York', new Date('2027-03-12T12:00:00Z'), 4);
    const local = runs.map((d) =>
      new Intl.DateTimeFormat('en-CA', {
        timeZone: 'America/New_York',
        dateStyle: 'short',
        timeStyle: 'short',
        hourCycle: 'h23',
      }).format(d),
    );
    // 02:00 does not exist on 2027-03-14: the run happens once, at the first valid local time.
    expect(local).toEqual(['2027-03-13, 02:00', '2027-03-14, 03:00', '2027-03-15, 02:00', '2027-03-16, 02:00']);
    expect(iso(runs)[2]).toBe('2027-03-15T06:00:00.000Z');
    expect(iso(nextRunsOf('monthly', 'America/New_York', new Date('2027-02-15T00:00:00Z'), 2))).toEqual([
      '2027-03-01T07:00:00.000Z',
      '2027-04-01T06:00:00.000Z',
    ]);
  });

  it('has no runs when disabled', () => {
    expect(nextRunsOf('disabled', 'UTC', from, 3)).toEqual([]);
    expect(patternOf('disabled')).toBeNull();
  });
});
