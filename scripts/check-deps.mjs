#!/usr/bin/env node
// `npm run lint:deps`, run by `npm test` before the tests: the layering of the code base (README, "Layout").
// 1. Import rules, declared in .dependency-cruiser.cjs and checked by dependency-cruiser: no circular imports
//    (type-only imports ignored); services never import each other; packages never import services; the packages
//    in layers (so no two workspaces import each other); packages/testing only in tests; only services/api uses
//    fastify.
// 2. Only services/worker (and packages/testing) construct a BullMQ `new Worker(`: a call, which no import rule
//    can state (worker_threads' Worker trips this too: import it under another name).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './lib/proc.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (f) => path.relative(root, f).split(path.sep).join('/');
const SOURCE = /\.(m?ts|m?js|tsx)$/;
const SKIP_DIRS = new Set(['node_modules', 'generated', 'dist', 'coverage']);
const WORKER_ALLOWED = ['services/worker/', 'packages/testing/'];

/** Every source file under `dir`, skipping node_modules and generated code. */
function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name), out);
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path.join(dir, entry.name));
  }
  return out;
}

/** Source with comments blanked out (line breaks kept, so line numbers stay right). */
const withoutComments = (src) =>
  src.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, '')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

function checkWorkerConstruction() {
  const errors = [];
  for (const file of ['packages', 'services', 'tests'].flatMap((d) => walk(path.join(root, d)))) {
    const from = rel(file);
    if (WORKER_ALLOWED.some((p) => from.startsWith(p))) continue;
    withoutComments(readFileSync(file, 'utf8'))
      .split('\n')
      .forEach((line, i) => {
        if (/\bnew\s+Worker\s*[(<]/.test(line)) {
          errors.push(`${from}:${i + 1}: constructs a Worker — only services/worker (or packages/testing) may`);
        }
      });
  }
  return errors;
}

const cruise = await run(
  path.join(root, 'node_modules', '.bin', 'depcruise'),
  ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'packages', 'services'],
  { cwd: root },
);
const workerErrors = checkWorkerConstruction();
if (cruise.code !== 0 || workerErrors.length > 0) {
  if (cruise.code !== 0) console.error(`${cruise.stdout}${cruise.stderr}`.trim());
  if (workerErrors.length > 0) console.error(workerErrors.map((e) => `  - ${e}`).join('\n'));
  console.error(
    'check-deps: the dependency rules do not hold (rules: .dependency-cruiser.cjs, scripts/check-deps.mjs)',
  );
  process.exit(1);
}
console.error('check-deps: no circular imports, dependency rules hold');
