/** One line of the bench table. Numbers are per run; {@link aggregate} takes medians over runs. */
export interface Row {
  id: string;
  label: string;
  wallS?: number;
  rows?: number;
  bytes?: number;
  peakRss?: number;
  /** The figure the target is about: a ratio (`x`), a latency (`ms`) or a memory size (`MB`). */
  measure?: { value: number; unit: 'x' | 'ms' | 'MB' };
  target?: { op: '≤' | '<'; value: number; unit: 'x' | 'ms' | 'MB'; text: string };
  /**
   * Judge the target on every run, not on the median: the row passes only if each run does, its measure is the
   * worst run's, and the notes list each run's value (issue 16: "p99 < 50 ms in each of three runs").
   */
  judgeEachRun?: boolean;
  /** Extra facts for the notes under the table (stage timings, idle RSS, request counts). */
  notes?: string[];
}

export interface AggregatedRow extends Row {
  runs: number;
  pass: boolean | null;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const med = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : undefined;
};

/**
 * Groups rows by id (in first-seen order) and takes the median of every number; judges each target unless `judge` is
 * false.
 */
export function aggregate(perRun: Row[][], judge: boolean): AggregatedRow[] {
  const groups = new Map<string, Row[]>();
  for (const rows of perRun) for (const r of rows) groups.set(r.id, [...(groups.get(r.id) ?? []), r]);
  return [...groups.values()].map((rs) => {
    const first = rs[0]!;
    const values = rs.map((r) => r.measure?.value).filter((v): v is number => typeof v === 'number');
    const eachRun = first.judgeEachRun === true && values.length > 0;
    const measureValue = eachRun ? Math.max(...values) : med(values);
    const eachRunText = rs.map((r, i) => `run ${i + 1} ${measureText(r.measure)}`).join(', ');
    const row: AggregatedRow = {
      ...first,
      runs: rs.length,
      wallS: med(rs.map((r) => r.wallS)),
      rows: med(rs.map((r) => r.rows)),
      bytes: med(rs.map((r) => r.bytes)),
      peakRss: med(rs.map((r) => r.peakRss)),
      measure: first.measure && measureValue !== undefined ? { ...first.measure, value: measureValue } : undefined,
      notes: [
        ...(eachRun && first.measure ? [`judged on each run (the worst shown): ${eachRunText}`] : []),
        ...(rs.length > 1
          ? rs.flatMap((r, i) => (r.notes ?? []).map((n) => `run ${i + 1}: ${n}`))
          : (first.notes ?? [])),
      ],
      pass: null,
    };
    if (judge && row.target && row.measure) {
      const target = row.target;
      const passes = (v: number) => (target.op === '≤' ? v <= target.value : v < target.value);
      row.pass = eachRun ? values.length === rs.length && values.every(passes) : passes(row.measure.value);
    }
    return row;
  });
}

const MB = 1024 * 1024;
const fmt = (v: number | undefined, digits: number, suffix = '') =>
  v === undefined ? '—' : `${v.toFixed(digits)}${suffix}`;
const thousands = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en'));

function measureText(m: Row['measure']): string {
  if (!m) return '—';
  if (m.unit === 'x') return `${m.value.toFixed(2)}×`;
  if (m.unit === 'ms') return `p99 ${m.value.toFixed(1)} ms`;
  return `${m.value.toFixed(0)} MB`;
}

/** The table as Markdown (aligned columns), one line per row, then the notes. */
export function formatTable(rows: AggregatedRow[], judged: boolean): string {
  const header = [
    'case',
    'wall',
    'rows/s',
    'MB/s',
    'peak RSS',
    'ratio / measure',
    'target',
    judged ? 'result' : 'result (smoke: not judged)',
  ];
  const body = rows.map((r) => [
    r.label,
    fmt(r.wallS, r.wallS !== undefined && r.wallS < 10 ? 2 : 1, ' s'),
    r.rows !== undefined && r.wallS ? thousands(r.rows / r.wallS) : '—',
    r.bytes !== undefined && r.wallS ? fmt(r.bytes / MB / r.wallS, 1) : '—',
    fmt(r.peakRss === undefined ? undefined : r.peakRss / MB, 0, ' MB'),
    measureText(r.measure),
    r.target?.text ?? '—',
    r.pass === null ? (r.target ? 'n/a' : '—') : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([1, 2, 3, 4, 5]);
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  const notes = rows.flatMap((r) => (r.notes ?? []).map((n) => `- ${r.label}: ${n}`));
  return [line(header), sep, ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}
