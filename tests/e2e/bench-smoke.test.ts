import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

interface BenchRow {
  id: string;
  label: string;
  wallS?: number;
  peakRss?: number;
  measure?: { value: number; unit: string };
  notes?: string[];
  pass: boolean | null;
}

/** Runs `bench/run.ts` as `npm run bench` would, against the services `npm test` provisioned. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'run.ts'), ...args], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench -- --smoke', () => {
  it('measures every case at a tiny scale and prints the table with numbers', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mp-bench-smoke-'));
    try {
      const json = path.join(dir, 'result.json');
      const res = await runBench(['--smoke', '--json', json]);
      expect(res.code, res.stderr.slice(-3000)).toBe(0);

      const { rows } = JSON.parse(await readFile(json, 'utf8')) as { rows: BenchRow[] };
      const byId = new Map(rows.map((r) => [r.id, r]));
      const measure = (id: string) => byId.get(id)!.measure?.value;
      const expected = [
        'export',
        'read-back',
        'ref-pg-dump',
        'restore',
        'restore-safety',
        'ref-pg-restore',
        'mem-export',
        'mem-restore',
        'mem-quarter',
        'mem-growth',
        'api-poll',
        'api-list',
        'api-enqueue',
      ];
      expect([...byId.keys()].sort()).toEqual([...expected].sort());
      for (const id of ['export', 'ref-pg-dump', 'restore', 'ref-pg-restore']) {
        const r = byId.get(id)!;
        expect(r.wallS, id).toBeGreaterThan(0);
        expect(r.peakRss, id).toBeGreaterThan(0);
        expect(measure(id), id).toBeGreaterThan(0);
      }
      // Each timed side says where its CPU went: its own processes, its database's backends (PostgreSQL runs on this
      // machine here, so they are visible), the machine's busy and stolen share. The worker's pooled connection
      // outlives its job, so the export and the restore always count one; the references' backends may live less
      // than a sampling interval at this scale.
      const sides = '(worker|pg_dump|pg_restore) [\\d.]+ s';
      const backends = 'database backends [\\d.]+ s CPU \\((\\d+) processes\\)';
      const cpuLine = new RegExp(`^CPU[^:]*: ${sides}.*, ${backends}; cores \\d+ % busy, \\d+ % stolen$`);
      const backendsCounted = (id: string) => {
        const lines = byId.get(id)!.notes?.filter((n) => cpuLine.test(n)) ?? [];
        expect(lines, id).toHaveLength(1);
        return Number(cpuLine.exec(lines[0]!)![2]);
      };
      for (const id of ['export', 'restore']) expect(backendsCounted(id), id).toBeGreaterThanOrEqual(1);
      for (const id of ['ref-pg-dump', 'ref-pg-restore']) backendsCounted(id);
      // The read-back is a share of the export's own time: above 0, below 1.
      expect(measure('read-back')).toBeGreaterThan(0);
      expect(measure('read-back')).toBeLessThan(1);
      // The memory and API cases: every one measured.
      for (const id of expected.filter((e) => /^(mem|api)-/.test(e))) {
        expect(Number.isFinite(measure(id)), id).toBe(true);
      }
      // Smoke runs print the table but never judge the targets.
      expect(rows.every((r) => r.pass === null)).toBe(true);

      const table = res.stdout.split('\n').filter((l) => l.startsWith('| '));
      const header = table[0]!
        .split('|')
        .map((c) => c.trim())
        .filter(Boolean);
      expect(header.slice(0, 7)).toEqual(['case', 'wall', 'rows/s', 'MB/s', 'peak RSS', 'ratio / measure', 'target']);
      expect(header[7]).toMatch(/^result/);
      for (const r of rows) {
        const line = table.find((l) => l.startsWith(`| ${r.label} `));
        expect(line, r.label).toBeDefined();
        expect(line, r.label).toMatch(/\d/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
