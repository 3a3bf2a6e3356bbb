import type { FailpointName } from '@mp/config';
import type { Logger } from '@mp/logger';

export type { FailpointName } from '@mp/config';

/** The failpoints a process was started with (config `FAILPOINTS`); absent or empty in production. */
export interface FailpointDeps {
  logger: Pick<Logger, 'warn'>;
  failpoints?: readonly FailpointName[];
}

/** True when `name` is armed, for a caller that must prepare something before reaching it. */
export function isFailpointArmed(deps: Partial<FailpointDeps> | undefined, name: FailpointName): boolean {
  return deps?.failpoints?.includes(name) ?? false;
}

/**
 * A seam for crash drills. Returns at once unless `name` is armed; then it logs
 * `{"msg":"failpoint","point":name}` and never settles, so the process sits exactly there (holding
 * whatever transaction, file or lock it holds) until a test kills it. The log line is the test's
 * signal: no sleep has to guess when the point is reached.
 * Trap: call it only where waiting forever is what a crash there looks like (inside the work, not
 * inside a `finally` that releases resources).
 */
export async function reachFailpoint(deps: Partial<FailpointDeps> | undefined, name: FailpointName): Promise<void> {
  if (!deps?.logger || !isFailpointArmed(deps, name)) return;
  deps.logger.warn({ point: name }, 'failpoint');
  await new Promise<never>(() => {});
}
