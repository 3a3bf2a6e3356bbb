import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildBackupMetrics, renderBackupMetrics, type BackupMetricsFacts } from './backup-metrics.js';

// A strict reader of the Prometheus text format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// it throws on anything a Prometheus server would refuse, and on histograms that do not add up.
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help?: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

function parseSample(line: string): Sample {
  const m = /^([^{\s]+)(\{.*\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
  if (!m || !METRIC.test(m[1]!)) throw new Error(`bad sample: ${line}`);
  const labels: Record<string, string> = {};
  if (m[2]) {
    let rest = m[2].slice(1, -1);
    while (rest.length > 0) {
      const lm = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!lm || !LABEL.test(lm[1]!)) throw new Error(`bad labels: ${line}`);
      if (lm[1]! in labels) throw new Error(`repeated label: ${line}`);
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(lm[0].length);
    }
  }
  return { name: m[1]!, labels, value: parseValue(m[3]!, line) };
}

function familyOf(sample: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = sample.slice(0, -suffix.length);
    if (sample.endsWith(suffix) && families.get(base)?.type === 'histogram') return base;
  }
  return sample;
}

function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!METRIC.test(name!)) throw new Error(`bad name: ${line}`);
      const f = families.get(name!) ?? { type: 'untyped', samples: [] };
      if (f.samples.length > 0) throw new Error(`${kind} after samples: ${line}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest!) || (families.get(name!)?.type !== undefined && families.get(name!)!.type !== 'untyped'))
          throw new Error(`bad TYPE: ${line}`);
        f.type = rest!;
      } else f.help = rest!.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      families.set(name!, f);
      current = name!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line);
    const name = familyOf(sample.name, families);
    if (name !== current) throw new Error(`sample outside its family block: ${line}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    const f = families.get(name)!;
    if (f.type === 'histogram' && sample.name === name) throw new Error(`histogram sample without suffix: ${line}`);
    if (f.type === 'counter' && (!name.endsWith('_total') || sample.value < 0)) throw new Error(`bad counter: ${line}`);
    f.samples.push(sample);
  }
  for (const [name, f] of families) if (f.type === 'histogram') checkHistogram(name, f);
  return families;
}

function checkHistogram(name: string, f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`);
    if (!count || !samples.some((s) => s.name === `${name}_sum`)) throw new Error(`${name}: _sum or _count missing`);
    let lastLe = -Infinity;
    let lastCount = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le ?? 'x', name);
      if (le <= lastLe || b.value < lastCount) throw new Error(`${name}: buckets not increasing`);
      [lastLe, lastCount] = [le, b.value];
    }
    if (lastLe !== Infinity || lastCount !== count.value)
      throw new Error(`${name}: +Inf bucket missing or not equal to _count`);
  }
}

const facts = (over: Partial<BackupMetricsFacts> = {}): BackupMetricsFacts => ({
  lastSuccessAt: new Date('2026-06-10T01:05:00.500Z'),
  newestSizeBytes: 52_428_800,
  durations: [
    { kind: 'scheduled', le: 5, count: 1, sumSeconds: 3.2 },
    { kind: 'scheduled', le: 60, count: 1, sumSeconds: 42 },
    { kind: 'manual', le: 1200, count: 1, sumSeconds: 700 },
  ],
  failuresByKind: { scheduled: 2 },
  drillLastRtoSeconds: 95.5,
  queueJobs: [
    { queue: 'backup', state: 'waiting', count: 1 },
    { queue: 'backup', state: 'failed', count: 3 },
    { queue: 'restore', state: 'active', count: 0 },
  ],
  healthy: true,
  ...over,
});

const value = (families: Map<string, Family>, family: string, sample: string, labels: Record<string, string> = {}) =>
  families.get(family)?.samples.find((s) => s.name === sample && JSON.stringify(s.labels) === JSON.stringify(labels))
    ?.value;

describe('renderBackupMetrics', () => {
  it('writes every family as valid Prometheus text, with the values of the facts', async () => {
    const { contentType, body } = await renderBackupMetrics(facts());
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusText(body);
    expect(Object.fromEntries([...families].map(([n, f]) => [n, f.type]))).toEqual({
      mp_backup_last_success_timestamp_seconds: 'gauge',
      mp_backup_duration_seconds: 'histogram',
      mp_backup_size_bytes: 'gauge',
      mp_backup_failures_total: 'counter',
      mp_restore_drill_last_rto_seconds: 'gauge',
      mp_queue_jobs: 'gauge',
      mp_backup_healthy: 'gauge',
    });
    expect(
      value(families, 'mp_backup_last_success_timestamp_seconds', 'mp_backup_last_success_timestamp_seconds'),
    ).toBe(1781053500.5);
    expect(
      value(families, 'mp_backup_duration_seconds', 'mp_backup_duration_seconds_count', { kind: 'scheduled' }),
    ).toBe(2);
    expect(
      value(families, 'mp_backup_duration_seconds', 'mp_backup_duration_seconds_sum', { kind: 'scheduled' }),
    ).toBeCloseTo(45.2);
    expect(
      value(families, 'mp_backup_duration_seconds', 'mp_backup_duration_seconds_bucket', {
        le: '5',
        kind: 'scheduled',
      }),
    ).toBe(1);
    expect(
      value(families, 'mp_backup_duration_seconds', 'mp_backup_duration_seconds_bucket', { le: '600', kind: 'manual' }),
    ).toBe(0);
    expect(
      value(families, 'mp_backup_duration_seconds', 'mp_backup_duration_seconds_bucket', {
        le: '1200',
        kind: 'manual',
      }),
    ).toBe(1);
    expect(value(families, 'mp_backup_size_bytes', 'mp_backup_size_bytes')).toBe(52_428_800);
    expect(families.get('mp_backup_failures_total')!.samples.map((s) => [s.labels.kind, s.value])).toEqual([
      ['manual', 0],
      ['scheduled', 2],
      ['pre-restore', 0],
    ]);
    expect(value(families, 'mp_restore_drill_last_rto_seconds', 'mp_restore_drill_last_rto_seconds')).toBe(95.5);
    expect(value(families, 'mp_queue_jobs', 'mp_queue_jobs', { queue: 'backup', state: 'failed' })).toBe(3);
    expect(value(families, 'mp_queue_jobs', 'mp_queue_jobs', { queue: 'restore', state: 'active' })).toBe(0);
    expect(value(families, 'mp_backup_healthy', 'mp_backup_healthy')).toBe(1);
  });

  it('leaves out what is unknown, says 0 for "never", and 0 when unhealthy', async () => {
    const empty = facts({
      lastSuccessAt: null,
      newestSizeBytes: null,
      drillLastRtoSeconds: null,
      durations: [],
      failuresByKind: {},
      queueJobs: [],
      healthy: false,
    });
    const families = parsePrometheusText((await renderBackupMetrics(empty)).body);
    expect(families.has('mp_backup_size_bytes')).toBe(false);
    expect(families.has('mp_restore_drill_last_rto_seconds')).toBe(false);
    expect(
      value(families, 'mp_backup_last_success_timestamp_seconds', 'mp_backup_last_success_timestamp_seconds'),
    ).toBe(0);
    expect(value(families, 'mp_backup_healthy', 'mp_backup_healthy')).toBe(0);
    expect(families.get('mp_backup_failures_total')!.samples).toHaveLength(3);
  });

  it('escapes label values so they read back unchanged', async () => {
    const odd = 'we"ird\\queue\nname';
    const families = parsePrometheusText(
      (await renderBackupMetrics(facts({ queueJobs: [{ queue: odd, state: 'waiting', count: 7 }] }))).body,
    );
    expect(value(families, 'mp_queue_jobs', 'mp_queue_jobs', { queue: odd, state: 'waiting' })).toBe(7);
  });

  it('uses a registry of its own: the global one stays empty and two builds do not collide', async () => {
    buildBackupMetrics(facts());
    buildBackupMetrics(facts({ healthy: false }));
    expect(await globalRegistry.metrics()).not.toContain('mp_');
  });
});

describe('the strict reader used above', () => {
  it('refuses what Prometheus would refuse', () => {
    const bad = [
      'mp_x{a="1"} one',
      'mp-x 1',
      'mp_x{1a="1"} 1',
      'mp_x{a="unclosed} 1',
      '# TYPE mp_c counter\nmp_c 1',
      '# TYPE mp_g gauge\nmp_g 1\nmp_g 2',
      '# TYPE mp_h histogram\nmp_h_bucket{le="1"} 2\nmp_h_bucket{le="+Inf"} 1\nmp_h_sum 1\nmp_h_count 1',
      '# TYPE mp_h histogram\nmp_h_bucket{le="1"} 1\nmp_h_sum 1\nmp_h_count 1',
      '# TYPE mp_a gauge\nmp_a 1\n# TYPE mp_b gauge\nmp_b 1\nmp_a{x="1"} 2',
    ];
    for (const text of bad) expect(() => parsePrometheusText(text), text).toThrow();
  });
});
