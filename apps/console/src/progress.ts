import type { JobStatus } from './api.js';
import { inExportOrder } from './format.js';

export interface TableBar {
  name: string;
  rows: number;
  total: number;
}

/**
 * One bar per table of a backup being written, from the job's progress: `rows` counts every table together and
 * tables are exported in a fixed order, so tables before the current one are full and later ones empty. A
 * finished job fills every bar. Null when there are no per-table counts (restores, verifies).
 */
export function tableBars(
  p: JobStatus['progress'],
  counts: Record<string, number> | null,
  done: boolean,
): TableBar[] | null {
  if (!counts) return null;
  const names = inExportOrder(Object.keys(counts));
  const current = p.table ? names.indexOf(p.table) : -1;
  let before = 0;
  return names.map((name, i) => {
    const total = counts[name] ?? 0;
    let rows = 0;
    if (done || i < current) rows = total;
    else if (i === current) rows = Math.min(total, Math.max(0, (p.rows ?? 0) - before));
    before += total;
    return { name, rows, total };
  });
}
