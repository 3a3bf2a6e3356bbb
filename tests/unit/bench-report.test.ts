import { describe, expect, it } from 'vitest';
import { aggregate, type Row } from '../../bench/lib/report.js';

const TARGET = { op: '<' as const, value: 50, unit: 'ms' as const, text: 'p99 < 50 ms' };
const run = (id: string, p99: number, judgeEachRun?: boolean): Row => ({
  id,
  label: id,
  measure: { value: p99, unit: 'ms' },
  target: TARGET,
  ...(judgeEachRun ? { judgeEachRun } : {}),
});

describe('bench aggregate', () => {
  it('judges a judgeEachRun row on every run: one run over the target fails it, whatever the median', () => {
    const perRun = [30, 62, 40].map((p99) => [run('each', p99, true), run('median', p99)]);
    const [each, median] = aggregate(perRun, true);
    expect(median).toMatchObject({ pass: true, measure: { value: 40 } });
    expect(each).toMatchObject({ pass: false, measure: { value: 62 } });
    expect(each!.notes![0]).toBe(
      'judged on each run (the worst shown): run 1 p99 30.0 ms, run 2 p99 62.0 ms, run 3 p99 40.0 ms',
    );
  });

  it('passes a judgeEachRun row when every run is under the target', () => {
    const [each] = aggregate([[run('each', 31, true)], [run('each', 49.9, true)], [run('each', 12, true)]], true);
    expect(each).toMatchObject({ pass: true, measure: { value: 49.9 }, runs: 3 });
  });
});
