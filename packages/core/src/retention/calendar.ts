const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of `at` in `timeZone` (Gregorian, whatever the process locale). */
export function localDate(at: Date, timeZone: string): { year: number; month: number; day: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US-u-ca-gregory-nu-latn', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(at);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: part('year'), month: part('month'), day: part('day') };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const DAY_MS = 86_400_000;

/** ISO 8601 week of a calendar date: the week (Monday to Sunday) belongs to the year of its Thursday. */
function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(date + (3 - weekday) * DAY_MS);
  const weekYear = thursday.getUTCFullYear();
  return { year: weekYear, week: 1 + Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / (7 * DAY_MS)) };
}

export type Period = 'daily' | 'weekly' | 'monthly' | 'yearly';

/**
 * The calendar bucket of `at` in `timeZone` for a period, as a label that also sorts in time order:
 * `2026-11-30`, `2026-W48`, `2026-11`, `2026`.
 */
export function bucketOf(period: Period, at: Date, timeZone: string): string {
  const { year, month, day } = localDate(at, timeZone);
  switch (period) {
    case 'daily':
      return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
    case 'weekly': {
      const w = isoWeek(year, month, day);
      return `${pad(w.year, 4)}-W${pad(w.week)}`;
    }
    case 'monthly':
      return `${pad(year, 4)}-${pad(month)}`;
    case 'yearly':
      return pad(year, 4);
  }
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
