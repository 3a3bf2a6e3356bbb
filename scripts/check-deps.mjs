#!/usr/bin/env node
// Dependency rules (README, "Layout"), checked mechanically before the tests:
// 1. no circular imports inside packages/ and services/ (madge; type-only imports ignored: they vanish at runtime),
//    and no cycle between workspaces through their @mp/* imports;
// 2. services/* never import each other; packages/* never import services/*;
// 3. only services/api imports fastify, @fastify/* or fastify-*;
// 4. only services/worker (and packages/testing) construct a BullMQ `new Worker(`
//    (worker_threads' Worker trips this too: import it under another name).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (f) => path.relative(root, f).split(path.sep).join('/');
const SOURCE = /\.(m?ts|m?js|tsx)$/;
const SKIP_DIRS = new Set(['node_modules', 'generated', 'dist', 'coverage']);

/** Every source file under `dir`, skipping node_modules and generated code. */
function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) { if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name), out); }
    else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path.join(dir, entry.name));
  }
  return out;
}

/** Workspace package name → its folder (e.g. "@mp/db" → "packages/db"). */
function readWorkspaces() {
  const map = new Map();
  for (const group of ['packages', 'services']) {
    const base = path.join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const pj = path.join(base, name, 'package.json');
      if (existsSync(pj)) map.set(JSON.parse(readFileSync(pj, 'utf8')).name, `${group}/${name}`);
    }
  }
  return map;
}

/** The workspace folder ("services/api") owning a repo-relative path, or null. */
const ownerOf = (relPath) => /^(packages|services)\/[^/]+/.exec(relPath)?.[0] ?? null;

/** Source without comments (strings kept; line breaks kept so line numbers stay right). */
function stripComments(src) {
  let out = '';
  let quote = null;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      out += c;
      if (c === '\\') out += src[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const body = src.slice(i, end === -1 ? src.length : end + 2);
      out += body.replace(/[^\n]/g, '');
      i += body.length - 1;
    } else {
      if (c === '"' || c === "'" || c === '`') quote = c;
      out += c;
    }
  }
  return out;
}

function importSpecifiers(src) {
  const specs = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of src.matchAll(re)) specs.push(m[1]);
  return specs;
}

function checkRestrictedImports(workspaces) {
  const errors = [];
  const edges = new Map(); // workspace → workspaces it imports
  const files = [...walk(path.join(root, 'packages')), ...walk(path.join(root, 'services'))];
  for (const file of files) {
    const from = rel(file);
    const owner = ownerOf(from);
    const src = stripComments(readFileSync(file, 'utf8'));
    for (const spec of importSpecifiers(src)) {
      let target = null;
      if (spec.startsWith('.')) target = ownerOf(rel(path.resolve(path.dirname(file), spec)));
      else {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        target = workspaces.get(pkg) ?? null;
        if ((pkg === 'fastify' || pkg.startsWith('@fastify/') || pkg.startsWith('fastify-')) && owner !== 'services/api') {
          errors.push(`${from}: imports '${spec}' — only services/api may use fastify`);
        }
      }
      if (!target || !owner || target === owner) continue;
      if (!edges.has(owner)) edges.set(owner, new Set());
      edges.get(owner).add(target);
      if (owner.startsWith('services/') && target.startsWith('services/')) errors.push(`${from}: imports '${spec}' — services never import each other`);
      if (owner.startsWith('packages/') && target.startsWith('services/')) errors.push(`${from}: imports '${spec}' — packages never import services`);
    }
  }
  for (const cycle of findCycles(edges)) errors.push(`workspace import cycle: ${cycle.join(' → ')}`);
  return errors;
}

function findCycles(edges) {
  const cycles = [];
  const state = new Map();
  const visit = (node, trail) => {
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...trail.slice(trail.indexOf(next)), next]);
      else if (!state.has(next)) visit(next, [...trail, next]);
    }
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node, [node]);
  return cycles;
}

function checkWorkerConstruction() {
  const errors = [];
  const allowed = ['services/worker/', 'packages/testing/'];
  const files = ['packages', 'services', 'tests'].flatMap((d) => walk(path.join(root, d)));
  for (const file of files) {
    const from = rel(file);
    if (allowed.some((p) => from.startsWith(p))) continue;
    const lines = stripComments(readFileSync(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (/\bnew\s+Worker\s*[(<]/.test(line)) errors.push(`${from}:${i + 1}: constructs a Worker — only services/worker (or packages/testing) may`);
    });
  }
  return errors;
}

async function checkCircular() {
  const dirs = ['packages', 'services'].filter((d) => existsSync(path.join(root, d)));
  if (dirs.length === 0) return [];
  const madge = createRequire(path.join(root, 'package.json'))('madge');
  const res = await madge(dirs.map((d) => path.join(root, d)), {
    baseDir: root,
    fileExtensions: ['ts', 'mts', 'js', 'mjs'],
    tsConfig: path.join(root, 'tsconfig.json'),
    excludeRegExp: [/node_modules/, /[\\/]generated[\\/]/],
    detectiveOptions: { ts: { skipTypeImports: true }, tsx: { skipTypeImports: true }, es6: { skipTypeImports: true } },
  });
  return res.circular().map((cycle) => `circular import: ${[...cycle, cycle[0]].join(' → ')}`);
}

const workspaces = readWorkspaces();
const errors = [...(await checkCircular()), ...checkRestrictedImports(workspaces), ...checkWorkerConstruction()];
if (errors.length > 0) {
  console.error(`check-deps: ${errors.length} problem(s)\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(1);
}
console.error('check-deps: no circular imports, dependency rules hold');
