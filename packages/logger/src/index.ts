import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths never written to logs, whatever the level. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.passwordHash',
  '*.newPassword',
  '*.token',
  '*.secret',
  '*.apiSecret',
  '*.api_secret',
  '*.jwtSecret',
  '*.CLOUDINARY_URL',
  '*.JWT_SECRET',
  'password',
  'token',
  'secret',
];

/**
 * Creates the process logger. Pretty output only when asked (`pretty`), never switched on NODE_ENV.
 * Secrets listed in {@link REDACT_PATHS} are censored; still never log whole third-party error objects.
 */
export function createLogger(opts: {
  level?: string;
  pretty?: boolean;
  name?: string;
  destination?: pino.DestinationStream;
}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    name: opts.name,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(opts.pretty && !opts.destination ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * Keeps a repeated failure to a few log lines: the first occurrence of each `key` is logged at once, later ones
 * at most once per `intervalMs`, with how many were left out since (`suppressed`). Redis clients retry many times
 * a second during an outage, and every retry must not become a line. Returns the function to log through.
 */
export function createRepeatLimiter(intervalMs = 30_000, now: () => number = Date.now) {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (key: string, log: (extra: { suppressed?: number }) => void): void => {
    const t = now();
    const last = seen.get(key);
    if (last && t - last.at < intervalMs) {
      last.suppressed++;
      return;
    }
    log(last?.suppressed ? { suppressed: last.suppressed } : {});
    seen.set(key, { at: t, suppressed: 0 });
  };
}
