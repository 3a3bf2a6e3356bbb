import { defineConfig } from 'vitest/config';

// Services are provisioned by scripts/test.mjs (`npm test`), which passes their URLs in the environment;
// the global setup only checks they are there and builds the service bundles once.
const CORPUS = 'tests/integration/hostile-corpus.test.ts';
const INCLUDE = ['packages/**/src/**/*.test.ts', 'services/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'tests/**/*.test.ts'];
const EXCLUDE = ['**/node_modules/**', '**/generated/**'];
const shared = { pool: 'forks' as const, testTimeout: 30_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    maxWorkers: 2,
    // Two lanes side by side: the hostile corpus (one long, self-contained file on databases of its own, about a
    // third of the suite's time), and everything else one file at a time (Redis- and database-backed files
    // share the services). Projects are written out in full: `extends` would merge their include lists.
    projects: [
      { test: { ...shared, name: 'corpus', include: [CORPUS], exclude: EXCLUDE } },
      {
        test: {
          ...shared,
          name: 'suite',
          include: INCLUDE,
          exclude: [...EXCLUDE, CORPUS],
          fileParallelism: false,
          globalSetup: ['tests/setup/global-setup.ts'],
        },
      },
    ],
  },
});
