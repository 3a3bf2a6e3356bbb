import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The line-length check (scripts/check-line-length.mjs) that `npm run lint` and `npm test` run: it must name
// the file and line of a long one and exit non-zero, and pass the repository as it is.
const script = path.resolve(import.meta.dirname, '../../scripts/check-line-length.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mp-line-length-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(...files: string[]) {
  const res = spawnSync(process.execPath, [script, ...files], { encoding: 'utf8' });
  return { code: res.status, stderr: res.stderr };
}

describe('scripts/check-line-length.mjs', () => {
  it('fails on a line over 120 bytes, naming file:line, and passes one of exactly 120', () => {
    const long = path.join(dir, 'long.ts');
    writeFileSync(long, `const a = 1;\n// ${'x'.repeat(118)}\n`);
    const refused = check(long);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${long}:2 (121 bytes)`);
    // Bytes, not characters: 40 arrows are 120 bytes, 41 are 123.
    const arrows = path.join(dir, 'arrows.ts');
    writeFileSync(arrows, `${'→'.repeat(40)}\n${'→'.repeat(41)}\n`);
    expect(check(arrows).stderr).toContain(`${arrows}:2 (123 bytes)`);
    expect(check(arrows).stderr).not.toContain(`${arrows}:1 `);
    const fits = path.join(dir, 'fits.ts');
    writeFileSync(fits, `// ${'x'.repeat(117)}\n`);
    expect(check(fits)).toEqual({ code: 0, stderr: '' });
  });

  it('passes the repository as it is', () => {
    expect(check()).toEqual({ code: 0, stderr: '' });
  });
});
