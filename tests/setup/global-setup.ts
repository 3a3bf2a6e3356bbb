import { buildServices } from '../../scripts/build.mjs';

/**
 * Vitest global setup: checks that the services' URLs are in the environment, then builds the services
 * (dist/<service>.mjs) once per test run, which the end-to-end tests start as real processes. Provisioning itself
 * happens in scripts/test.mjs (so `npm test -- <file>` provisions too); running `vitest` directly without them fails
 * here with one readable message instead of many connection errors.
 */
export default async function checkTestEnvironment(): Promise<void> {
  const required = ['TEST_ADMIN_DATABASE_URL', 'DATABASE_URL', 'REDIS_URL'] as const;
  const missing = required.filter((key) => !process.env[key]);
  if (missing.length > 0) {
    throw new Error(
      `Missing ${missing.join(', ')}: run \`npm test\` (optionally \`npm test -- <file>\`), which provisions ` +
        `PostgreSQL and Redis and sets them.`,
    );
  }
  await buildServices();
}
