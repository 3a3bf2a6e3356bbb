import type { Logger } from '@mp/logger';

/**
 * Graceful shutdown for a service's composition root: on SIGTERM or SIGINT, runs `steps` in order
 * (stop taking work, finish what runs, close queues, then the database), then exits 0. Exits 1
 * when a step fails or when all of them take longer than `timeoutMs`. A second signal is ignored.
 */
export function exitGracefullyOnSignals(
  logger: Logger,
  steps: (() => Promise<unknown>)[],
  opts: { timeoutMs: number; message?: string },
): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, opts.message ?? 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, opts.timeoutMs).unref();
    try {
      for (const step of steps) await step();
      clearTimeout(timer);
      process.exit(0);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'shutdown failed');
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(signal));
}
