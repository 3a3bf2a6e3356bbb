import { defineConfig } from 'vitest/config';

// Services are provisioned by scripts/test.mjs (`npm test`), which passes their URLs in the environment;
// the global setup only checks they are there.
export default defineConfig({
  test: {
    include: ['packages/**/src/**/*.test.ts', 'services/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/generated/**'],
    globalSetup: ['tests/setup/global-setup.ts'],
    pool: 'forks',
    // Safe default: Redis- and database-backed files run one at a time. Files that use unique database
    // names and BullMQ prefixes could run with `fileParallelism: true, maxWorkers: 2`.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
