import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Issue 16 item 5: the PostgreSQL-only statements the service relies on live behind one seam,
// packages/core/src/sql/dialect.ts (README: "The database: PostgreSQL versions, managed and distributed engines").
// This keeps new code from sending them around it. Comments may name them; code may not.
const ROOT = path.resolve(import.meta.dirname, '../..');
const SEAM = 'packages/core/src/sql/dialect.ts';
const DIRS = ['packages/core/src', 'packages/cli/src', 'services/api/src', 'services/worker/src'];
const LOCKS_AND_SIZES = /pg_(try_)?advisory_|pg_total_relation_size|FREEZE\)|SET SCHEMA|REPEATABLE READ/;
const DDL_AND_MAINTENANCE = /CREATE (UNLOGGED TABLE|TRIGGER)|LOCK TABLE|[`'"]ANALYZE /;
const SESSION_SETTINGS = /(SET|RESET) (LOCAL )?(search_path|max_parallel_maintenance_workers)/;
const POSTGRES_ONLY = new RegExp(
  [LOCKS_AND_SIZES.source, DDL_AND_MAINTENANCE.source, SESSION_SETTINGS.source].join('|'),
);

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .filter((f) => !f.includes('/generated/'));
}

describe('dialect seam', () => {
  it('sends every PostgreSQL-only statement from packages/core/src/sql/dialect.ts alone', () => {
    const files = DIRS.flatMap(sources);
    expect(files).toContain(SEAM);
    const outside = files
      .filter((f) => f !== SEAM)
      .flatMap((f) =>
        readFileSync(path.join(ROOT, f), 'utf8')
          .split('\n')
          .map((line, i) => ({ at: `${f}:${i + 1}`, line }))
          .filter(({ line }) => !/^\s*(\*|\/\/|\/\*)/.test(line) && POSTGRES_ONLY.test(line.replace(/\/\/.*$/, ''))),
      )
      .map(({ at, line }) => `${at}: ${line.trim()}`);
    expect(outside).toEqual([]);
    expect(POSTGRES_ONLY.test(readFileSync(path.join(ROOT, SEAM), 'utf8'))).toBe(true);
  });
});
