/** 1536 → "1.5 KB"; null → "—". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A timestamp in the reader's locale, with the zone; null → "—". */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** API table keys as people say them: unionMembers → "union members". */
export function tableName(key: string): string {
  return key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

export const sum = (counts: Record<string, number> | null | undefined) =>
  Object.values(counts ?? {}).reduce((a, b) => a + b, 0);

// The order the worker exports tables in (packages/core backup-format/tables.ts); stored JSON may reorder keys.
const EXPORT_ORDER = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments', 'auditLogs', 'sessions'];
const rank = (t: string) => (EXPORT_ORDER.includes(t) ? EXPORT_ORDER.indexOf(t) : EXPORT_ORDER.length);

/** Table keys in export order (unknown ones last). */
export const inExportOrder = (tables: string[]) => [...tables].sort((a, b) => rank(a) - rank(b));

/** 93.4 → "1 min 33 s"; 4.25 → "4.3 s"; null → "—". */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${Math.round(s % 60) ? ` ${Math.round(s % 60)} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} days${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** A health check's value or limit in the unit its name implies (ages in seconds, sizes in bytes, else counts). */
export function checkValue(name: string, v: number | null): string {
  if (v === null) return '—';
  if (name === 'backup_age' || name === 'drill' || name === 'scheduled_run') return seconds(v);
  if (name === 'backup_size' || name === 'storage_total') return bytes(v);
  return v.toLocaleString();
}
