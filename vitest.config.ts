import { defineConfig } from 'vitest/config';

// Services are provisioned by scripts/test.mjs (`npm test`), which passes their URLs in the environment;
// the global setup only checks they are there.
const CORPUS = 'tests/integration/hostile-corpus.test.ts';
const EXCLUDE = ['**/node_modules/**', '**/generated/**'];

export default defineConfig({
  test: {
    include: ['packages/**/src/**/*.test.ts', 'services/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: EXCLUDE,
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    // Two lanes: the hostile corpus (a long, self-contained file on its own databases, about a third of the
    // suite's time) runs beside everything else, which runs one file at a time (Redis- and database-backed
    // files share the services).
    projects: [
      { extends: true, test: { name: 'corpus', include: [CORPUS], exclude: EXCLUDE } },
      // The global setup (environment check, service bundles built once) belongs to the lane that starts processes.
      { extends: true, test: { name: 'suite', exclude: [...EXCLUDE, CORPUS], fileParallelism: false, globalSetup: ['tests/setup/global-setup.ts'] } },
    ],
  },
});
