#!/usr/bin/env node
// `node scripts/check-line-length.mjs [files…]`: fails (exit 1) naming `file:line` for every line of TS/JS longer
// than 120 bytes. Biome's formatter wraps code at 120 but never breaks a string or a comment, so this catches
// what it leaves. Bytes, not characters: the count the review takes (`awk 'length($0)>120'` under mawk), so a
// line with `→` or `…` must stay a few characters shorter. With no arguments it checks every tracked
// .ts/.tsx/.mjs/.cjs/.js file (git ls-files) except generated code, dist and node_modules; Markdown is not checked.
// Run by `npm run lint` and by `npm test` beside `biome check`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAX_LINE_BYTES = 120;
const CHECKED = /\.(ts|tsx|mjs|cjs|js)$/;
const SKIPPED = /(^|\/)(node_modules|dist|generated)\//;

/** `file:line (N bytes)` for every line of `text` over {@link MAX_LINE_BYTES} bytes. */
export function findLongLines(file, text) {
  const found = [];
  text.split('\n').forEach((line, i) => {
    const bytes = Buffer.byteLength(line.replace(/\r$/, ''));
    if (bytes > MAX_LINE_BYTES) found.push(`${file}:${i + 1} (${bytes} bytes)`);
  });
  return found;
}

function trackedFiles(root) {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return out.split('\0').filter((f) => CHECKED.test(f) && !SKIPPED.test(f));
}

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const given = process.argv.slice(2);
  const files = given.length > 0 ? given : trackedFiles(root);
  const long = files.flatMap((f) => findLongLines(f, readFileSync(path.resolve(root, f), 'utf8')));
  if (long.length === 0) return 0;
  for (const l of long) console.error(l);
  console.error(
    `${long.length} line(s) over ${MAX_LINE_BYTES} bytes: rewrap the comment, split the string ('…' + '…') ` +
      'or name a sub-expression',
  );
  return 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
