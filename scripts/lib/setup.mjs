// Steps shared by `npm start` and `npm test`: dependencies, Prisma client, migrations. Pure Node.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.mjs';

/** Absolute path of the repository root (two levels above this file). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A logger that prefixes every line with `[tag]`, on stderr so stdout stays for children and tools. */
export function makeLog(tag) {
  return (msg) => {
    for (const line of String(msg).split('\n')) process.stderr.write(`[${tag}] ${line}\n`);
  };
}

/**
 * Throws a readable error when Node is older than the engines field allows (20.19: the first Node 20 that loads an
 * ES module by `require`, as Fastify's cookie plugin does with `cookie` 2).
 */
export function assertNodeVersion() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19))
    throw new Error(`Node ${process.versions.node} is too old: use Node 20.19 or newer`);
}

/**
 * Runs `npm ci` when node_modules is missing or package-lock.json is newer than the last install
 * (npm's own node_modules/.package-lock.json marks it). No install scripts are needed, so npm 11's
 * script blocking is harmless. Output goes to the terminal.
 */
export async function ensureDependencies({ root = repoRoot, log }) {
  const lock = path.join(root, 'package-lock.json');
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
  if (!stale) return;
  const args = existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  log(`installing dependencies (npm ${args[0]})`);
  await runStep('npm', args, { cwd: root });
}

/** Path of a tool installed in node_modules/.bin (what `npx <tool>` would run, without the npx wrapper). */
export const bin = (tool, root = repoRoot) => path.join(root, 'node_modules', '.bin', tool);

/**
 * `prisma generate`. prisma.config.ts resolves `env('DATABASE_URL')` even for generate, which needs no database,
 * so a placeholder (not a credential) is supplied when the variable is unset.
 */
export async function prismaGenerate({ root = repoRoot, env = process.env }) {
  await runStep(bin('prisma', root), ['generate'], {
    cwd: root,
    env: { ...env, DATABASE_URL: env.DATABASE_URL || 'postgresql://generate-only@127.0.0.1:1/none' },
    quiet: true,
  });
}

/** Throws a readable error when prisma/migrations holds no migration (another part of the project writes them). */
export function assertMigrationsPresent(root = repoRoot) {
  const dir = path.join(root, 'prisma', 'migrations');
  const found = existsSync(dir) && readdirSync(dir).some((d) => existsSync(path.join(dir, d, 'migration.sql')));
  if (!found)
    throw new Error(
      `no migrations in ${path.relative(root, dir)}/ (expected <name>/migration.sql): cannot create the schema`,
    );
}

/** `prisma migrate deploy` against `databaseUrl`. */
export async function prismaMigrateDeploy({ root = repoRoot, databaseUrl, env = process.env }) {
  assertMigrationsPresent(root);
  await runStep(bin('prisma', root), ['migrate', 'deploy'], {
    cwd: root,
    env: { ...env, DATABASE_URL: databaseUrl },
    quiet: true,
  });
}

/**
 * Runs a step; throws with its output on failure. `quiet` captures output and shows it only on failure;
 * otherwise output goes straight to the terminal.
 */
export async function runStep(
  cmd,
  args,
  { cwd = repoRoot, env = process.env, quiet = false, onSpawn, detached = false } = {},
) {
  const res = await run(cmd, args, { cwd, env, inherit: !quiet, onSpawn, detached });
  if (res.code !== 0) {
    const out = quiet ? `\n${`${res.stdout}\n${res.stderr}`.trim()}` : '';
    const err = new Error(`\`${path.basename(cmd)} ${args.join(' ')}\` failed with exit code ${res.code}${out}`);
    err.exitCode = res.code;
    throw err;
  }
  return res;
}
