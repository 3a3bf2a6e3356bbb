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
export function createLogger(opts: { level?: string; pretty?: boolean; name?: string; destination?: pino.DestinationStream }): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    name: opts.name,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(opts.pretty && !opts.destination ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
