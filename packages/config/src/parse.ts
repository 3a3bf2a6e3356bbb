import type { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; lists every bad key at once. */
export class ConfigError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` (normally `process.env`, passed in by a composition root) against `schema`.
 * Empty strings count as unset, so `FOO=` in a shell behaves like a missing key.
 * @throws ConfigError naming every invalid or missing key; values are never echoed (they may be secrets).
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({ key: issue.path.join('.') || '(root)', message: issue.message })),
  );
}

/**
 * For composition roots: {@link parseConfig}, or on a bad configuration print every bad key to
 * stderr and exit with status 1 before anything connects anywhere.
 */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
