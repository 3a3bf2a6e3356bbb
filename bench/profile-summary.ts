// `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top N]`: self time per function and per
// package/file, to read a `--profile` run's CPU profiles without DevTools.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: bench/profile-summary.ts <file.cpuprofile> [top N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  const repo = /\/(packages|services|bench)\/([^/]+)/.exec(url);
  return repo ? `${repo[1]}/${repo[2]}` : url ? 'other' : '(native/vm)';
};
const fnKey = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ` +
  `${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}:` +
  `${n.callFrame.lineNumber + 1}`;

const sum = (key: (n: Node) => string) => {
  const out = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    out.set(key(n), (out.get(key(n)) ?? 0) + us);
  }
  return [...out].sort((a, b) => b[1] - a[1]).slice(0, top);
};
const show = (title: string, rows: [string, number][]) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of rows)
    process.stdout.write(
      `${(us / 1e6).toFixed(2).padStart(8)} s ${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}\n`,
    );
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
show(
  'self time by package / file',
  sum((n) => where(n.callFrame.url)),
);
show('self time by function', sum(fnKey));
