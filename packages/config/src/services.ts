import { z } from 'zod';
import {
  booleanEnv,
  databaseEnv,
  encryptionEnv,
  failpointEnv,
  healthEnv,
  logEnv,
  redisEnv,
  requireHashTaggedPrefixOnCluster,
  scheduleEnv,
  storageEnv,
} from './fragments.js';

/** A password that is at least 12 characters with three of: lower, upper, digit, symbol. */
export function isStrongPassword(value: string): boolean {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(value)).length;
  return value.length >= 12 && classes >= 3;
}

const strongPassword = z
  .string()
  .refine(isStrongPassword, 'too weak: use 12+ characters with three of lower case, upper case, digits, symbols');

export const apiEnvSchema = databaseEnv
  .extend(redisEnv.shape)
  .extend(logEnv.shape)
  .extend(storageEnv.shape)
  .extend(scheduleEnv.shape)
  .extend(failpointEnv.shape)
  .extend(healthEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
    JWT_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(8 * 3600),
    /** Largest JSON body (`{ backupData }`) POST /api/backup/restore accepts. */
    RESTORE_BODY_LIMIT_MB: z.coerce.number().int().min(1).max(10_240).default(50),
    /** Largest uploaded backup file; streamed to disk, so it may be far larger than a JSON body. */
    RESTORE_UPLOAD_LIMIT_MB: z.coerce.number().int().min(1).max(1_048_576).default(10_240),
    LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
    TRUST_PROXY: booleanEnv.default(false),
    /**
     * When set, GET /metrics wants `Authorization: Bearer <METRICS_TOKEN>`; unset, it is open (it carries no personal
     * data).
     */
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** The built admin console (`npm run build` writes it), served at /admin; relative to the working directory. */
    CONSOLE_DIR: z.string().min(1).default('dist/console'),
    /** The queue dashboard at /admin/queues only shows jobs unless this is false (then retry, clean, pause… work). */
    BULL_BOARD_READ_ONLY: booleanEnv.default(true),
  })
  .superRefine(requireHashTaggedPrefixOnCluster);
export type ApiConfig = z.output<typeof apiEnvSchema>;

export const workerEnvSchema = databaseEnv
  .extend(redisEnv.shape)
  .extend(logEnv.shape)
  .extend(storageEnv.shape)
  .extend(scheduleEnv.shape)
  .extend(failpointEnv.shape)
  .extend(healthEnv.shape)
  .extend(encryptionEnv.shape)
  .extend({
    RESET_SUPERADMIN_PASSWORD: strongPassword.optional(),
    GZIP_LEVEL: z.coerce.number().int().min(1).max(9).default(1),
    /** zstd level for backups created with `compression: "zstd"` (docs/benchmarks.md has the measured choice). */
    ZSTD_LEVEL: z.coerce.number().int().min(1).max(19).default(1),
    COMPRESS_THRESHOLD_BYTES: z.coerce
      .number()
      .int()
      .min(0)
      .default(1024 * 1024),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
    /** How long BullMQ's job lock lasts; a crashed worker's job is picked up after about this long. */
    JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
    JOB_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(15_000),
    /** How long a backup that meets maintenance mode (a restore or reset) waits before looking again. */
    MAINTENANCE_RECHECK_MS: z.coerce.number().int().min(100).default(30_000),
    /**
     * How old a `queued` record or operation must be before start-up reconciliation judges it (the API
     * writes the row, then enqueues within ENQUEUE_TIMEOUT_MS); also how often reconciliation runs.
     */
    RECONCILE_GRACE_MS: z.coerce.number().int().min(1000).default(60_000),
    /** How often the health-check job scheduler evaluates health (and raises or clears its alerts). */
    BACKUP_HEALTH_CHECK_EVERY_MINUTES: z.coerce.number().int().min(1).max(1440).default(5),
    /** Where alert events are POSTed (JSON, signed); unset: no alerts are sent (conditions are still tracked). */
    BACKUP_ALERT_WEBHOOK_URL: z
      .string()
      .refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http:// or https:// URL')
      .optional(),
    /** HMAC-SHA256 key of the `x-mp-signature` header; needed when BACKUP_ALERT_WEBHOOK_URL is set. */
    BACKUP_ALERT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    BACKUP_ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /**
     * The migration folders (`<name>/migration.sql`) that give a restore drill's scratch database its schema; relative
     * to the working directory.
     */
    DRILL_MIGRATIONS_DIR: z.string().min(1).default('prisma/migrations'),
    /**
     * Typed tables of a restore with at least this many rows (by the file's metadata) are loaded over two COPY
     * connections instead of one (docs/benchmarks.md has the measured choice).
     */
    SPLIT_COPY_MIN_ROWS: z.coerce.number().int().min(1).default(100_000),
    /**
     * How long after a restore it can be undone (its restore point is kept that long), in hours; fractions allowed.
     * 0 keeps no undo window: the restore point is dropped by the next housekeeping run.
     */
    UNDO_WINDOW_HOURS: z.coerce
      .number()
      .min(0)
      .max(24 * 365)
      .default(24),
  })
  .superRefine(requireHashTaggedPrefixOnCluster);
export type WorkerConfig = z.output<typeof workerEnvSchema>;

/** `npm run admin:bootstrap` (scripts/bootstrap-admin.ts): the first ADMIN when no admin can log in. */
export const bootstrapEnvSchema = databaseEnv.extend({
  ADMIN_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{3,50}$/, '3-50 letters, digits, . _ -')
    .default('admin'),
  ADMIN_PASSWORD: strongPassword.optional(),
  ADMIN_EMAIL: z.email().optional(),
});
export type BootstrapConfig = z.output<typeof bootstrapEnvSchema>;

/**
 * `npm run db:migrate` (scripts/migrate.ts): applies pending migrations, after a backup when the database holds data.
 */
export const migrateEnvSchema = databaseEnv.extend(logEnv.shape).extend(storageEnv.shape).extend({
  GZIP_LEVEL: workerEnvSchema.shape.GZIP_LEVEL,
  COMPRESS_THRESHOLD_BYTES: workerEnvSchema.shape.COMPRESS_THRESHOLD_BYTES,
});
export type MigrateConfig = z.output<typeof migrateEnvSchema>;

/** A webhook URL without its secret cannot sign; the worker refuses to start with it (one message, no values). */
export function alertWebhookConfigProblem(
  config: Pick<WorkerConfig, 'BACKUP_ALERT_WEBHOOK_URL' | 'BACKUP_ALERT_WEBHOOK_SECRET'>,
): string | null {
  return config.BACKUP_ALERT_WEBHOOK_URL && !config.BACKUP_ALERT_WEBHOOK_SECRET
    ? 'BACKUP_ALERT_WEBHOOK_SECRET: required when BACKUP_ALERT_WEBHOOK_URL is set'
    : null;
}
