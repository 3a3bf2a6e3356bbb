#!/usr/bin/env node
// `npm run build`: bundles each service into dist/<service>.mjs (+ .mjs.map) with esbuild, so the services run
// as plain JavaScript (`node --enable-source-maps dist/worker.mjs`) instead of through the tsx loader, which
// costs tens of MB of resident memory per process (figures: docs/benchmarks.md, section 3). Workspace packages (@mp/*)
// and
// the generated Prisma client are bundled; real npm packages stay external and resolve from the root
// node_modules. Tests and CLIs keep tsx. Requires a generated Prisma client (`npx prisma generate`).
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The services that get built, by name: dist/<name>.mjs comes from services/<name>/src/main.ts. */
export const SERVICES = ['api', 'worker'];

/** The bundle of a service (an absolute path); what `node --enable-source-maps <it>` runs. */
export const serviceBundle = (name, root = repoRoot) => path.join(root, 'dist', `${name}.mjs`);

/**
 * V8 flags per service. The worker streams hundreds of MB through short-lived buffers and strings; V8's default
 * young generation (16 MB semi-spaces) lets tens of MB of garbage pile up before each scavenge, which is most of
 * what a job adds to the worker's resident memory. 2 MB semi-spaces collect it sooner for no measurable CPU cost
 * (figures: docs/benchmarks.md, section 3).
 * This does not cap the old generation, so a larger database cannot run the worker out of heap.
 */
const V8_FLAGS = { api: [], worker: ['--max-semi-space-size=2'] };

/**
 * Node's arguments that run a built service: source maps on, so stack traces name the TypeScript files and lines,
 * plus the service's V8 flags. Every launcher (npm start, the bench, the end-to-end tests) runs services this way;
 * the Docker image's commands (Dockerfile, docker-compose.yml) repeat them.
 */
export const serviceArgs = (name, root = repoRoot) => [
  '--enable-source-maps',
  ...(V8_FLAGS[name] ?? []),
  serviceBundle(name, root),
];

/**
 * Bundles every service into `<root>/dist`. Each file is written under a temporary name and renamed into place,
 * so a process starting while another build runs (tests, bench and `npm start` may build at once) never reads a
 * half-written bundle. Throws esbuild's error (with file and line) when a service does not compile.
 */
export async function buildServices({ root = repoRoot, services = SERVICES } = {}) {
  const { build } = await import('esbuild');
  const outdir = path.join(root, 'dist');
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(services.map((name) => [name, `services/${name}/src/main.ts`])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    sourcesContent: false, // stack traces need only the mappings; the sources are in the repository
    write: false,
    logLevel: 'silent',
    plugins: [externalNpmPackages],
  });
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  for (const file of result.outputFiles) {
    writeFileSync(file.path + suffix, file.contents);
    renameSync(file.path + suffix, file.path);
  }
  return services.map((name) => serviceBundle(name, root));
}

/** The admin console's sources (apps/console) and where its build goes (CONSOLE_DIR's default, served at /admin). */
export const CONSOLE_SOURCE = 'apps/console';
export const consoleOutDir = (root = repoRoot) => path.join(root, 'dist', 'console');

/** Newest modification time (ms) of the files under `dir` (0 when it is missing). */
function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** True when the console was never built, or a source file (or the lock file) is newer than its build. */
export function consoleIsStale(root = repoRoot) {
  const index = path.join(consoleOutDir(root), 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const lock = path.join(root, 'package-lock.json');
  return newestMtime(path.join(root, CONSOLE_SOURCE)) > built || (existsSync(lock) && statSync(lock).mtimeMs > built);
}

/**
 * Builds the admin console (Vite, apps/console/vite.config.ts) into dist/console: content-hashed assets plus
 * index.html. With `onlyIfStale`, does nothing when the build is newer than every source. Returns the folder,
 * and whether it built.
 */
export async function buildConsole({ root = repoRoot, onlyIfStale = false } = {}) {
  const outDir = consoleOutDir(root);
  if (onlyIfStale && !consoleIsStale(root)) return { outDir, built: false };
  const { build } = await import('vite');
  await build({ configFile: path.join(root, CONSOLE_SOURCE, 'vite.config.ts'), logLevel: 'warn' });
  return { outDir, built: true };
}

/** `--packages=external`, except for the workspace packages (@mp/*), which are TypeScript sources to bundle. */
const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@mp/') || path.isAbsolute(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const started = Date.now();
    const files = await buildServices();
    const { outDir } = await buildConsole();
    process.stderr.write(
      `[build] ${[...files, outDir].map((f) => path.relative(repoRoot, f)).join(', ')} in ${Date.now() - started} ms\n`,
    );
  } catch (err) {
    process.stderr.write(`[build] failed: ${err?.message ?? err}\n`);
    process.exit(1);
  }
}
