/**
 * Vitest global setup: checks that the services' URLs are in the environment. Provisioning itself happens in
 * scripts/test.mjs (so `npm test -- <file>` provisions too); running `vitest` directly without them fails here
 * with one readable message instead of many connection errors.
 */
export default function checkTestEnvironment(): void {
  const required = ['TEST_ADMIN_DATABASE_URL', 'DATABASE_URL', 'REDIS_URL'] as const;
  const missing = required.filter((key) => !process.env[key]);
  if (missing.length > 0) {
    throw new Error(`Missing ${missing.join(', ')}: run \`npm test\` (optionally \`npm test -- <file>\`), which provisions PostgreSQL and Redis and sets them.`);
  }
}
