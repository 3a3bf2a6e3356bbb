import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Services are provisioned by scripts/test.mjs (`npm test`), which passes their URLs in the environment;
// the global setup only checks they are there and builds the service bundles once.

/**
 * Two files run side by side. Every file works on databases and a queue prefix of its own (packages/testing), so
 * files do not see each other. The longest files start first so the two lanes end together: the hostile corpus
 * (the longest file) in one lane from the start, the end-to-end files (real processes) next,
 * then the in-process integration files and the unit tests, each group longest (largest) first.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification): number => {
      const file = spec.moduleId;
      if (file.endsWith('tests/integration/hostile-corpus.test.ts')) return 0;
      if (/\/tests\/(e2e|browser)\//.test(file)) return 1;
      if (file.includes('/tests/integration/')) return 2;
      return 3;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((spec, index) => ({ spec, index }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.index - b.index)
      .map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    include: [
      'packages/**/src/**/*.test.ts',
      'services/**/src/**/*.test.ts',
      'apps/**/src/**/*.test.ts',
      'tests/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/generated/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    sequence: { sequencer: LongestFirst },
    globalSetup: ['tests/setup/global-setup.ts'],
  },
});
