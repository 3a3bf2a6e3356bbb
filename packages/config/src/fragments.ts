import { z } from 'zod';

const postgresUrl = z.string().refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgresql:// URL');
const redisUrl = z.string().refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// URL');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Shared fragments composed into each service's schema. */
export const databaseEnv = z.object({ DATABASE_URL: postgresUrl });

export const redisEnv = z.object({
  REDIS_URL: redisUrl,
  /** Key prefix of every BullMQ queue; tests use a unique one each. On a cluster it must be hash-tagged: `{mp}`. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9:_{}-]+$/, 'letters, digits, : _ - { } only')
    .default('mp'),
  /** REDIS_URL names one node of a Redis Cluster; the others are discovered from it. */
  REDIS_CLUSTER: bool.default(false),
});

/**
 * On a Redis Cluster every key of a queue must live in one slot, which BullMQ gets from a hash-tagged
 * prefix (`{mp}`): refuse any other prefix at start-up rather than fail on the first multi-key command.
 */
export function requireHashTaggedPrefixOnCluster(
  env: { REDIS_CLUSTER: boolean; QUEUE_PREFIX: string },
  ctx: z.RefinementCtx,
): void {
  if (env.REDIS_CLUSTER && !/\{[^{}]+\}/.test(env.QUEUE_PREFIX)) {
    ctx.addIssue({
      code: 'custom',
      path: ['QUEUE_PREFIX'],
      message:
        `with REDIS_CLUSTER=true the prefix must be hash-tagged so each queue's keys share one cluster slot: ` +
        `use {${env.QUEUE_PREFIX.replace(/[{}]/g, '')}}`,
    });
  }
}

export const logEnv = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.default(false),
});

export const storageEnv = z.object({
  BACKUP_DIR: z.string().min(1).default('.data/backups'),
  /** cloudinary://key:secret@cloud[?upload_prefix=…]; unset means cloud storage is not configured. */
  CLOUDINARY_URL: z
    .string()
    .refine((v) => /^cloudinary:\/\/[^:]+:[^@]+@[^/?]+/.test(v), 'must look like cloudinary://key:secret@cloud')
    .optional(),
  /** Where uploaded restore files wait for the worker; shared by API and worker like BACKUP_DIR. */
  UPLOAD_DIR: z.string().min(1).default('.data/uploads'),
  CLOUDINARY_FOLDER: z.string().default('backups'),
  CLOUDINARY_URL_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  CLOUDINARY_CHUNK_MB: z.coerce.number().int().min(5).max(94).default(6),
});

/** The time zone scheduled backups run in; the API (PUT schedule) and the worker must agree. */
export const scheduleEnv = z.object({
  BACKUP_TIMEZONE: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as Africa/Lagos')
    .default('UTC'),
});

export { bool as booleanEnv };

/**
 * Backup encryption (worker only). Keys are `<keyId>:<base64 of 32 random bytes>`; their format is
 * checked by the worker at start-up (@mp/core `readEncryptionSettings`), and never echoed.
 */
export const encryptionEnv = z.object({
  /** The key new backup files are encrypted with; unset means files are written in clear. */
  BACKUP_ENCRYPTION_KEY: z.string().optional(),
  /** Older keys (comma-separated, same form), so backups written before a rotation stay readable. */
  BACKUP_DECRYPTION_KEYS: z.string().optional(),
  /** true: the worker refuses to start without a valid BACKUP_ENCRYPTION_KEY and never writes a file in clear. */
  BACKUP_ENCRYPTION_REQUIRED: bool.default(false),
});

/**
 * Points where a process can be told to stop and wait, so a crash drill can kill it there (see @mp/core
 * `reachFailpoint`).
 */
export const FAILPOINT_NAMES = [
  'export.mid-table',
  'upload.mid-chunk',
  'upload.overlap',
  'restore.staging',
  'restore.split-copy',
  'restore.building',
  'restore.swap',
  'restore.after-swap',
  'undo.swap',
  'reset.wipe',
  'prune.mid-delete',
  'api.create.after-record',
] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

/**
 * `FAILPOINTS=restore.swap,reset.wipe`: for crash drills only. A process that reaches a named point
 * logs `{"msg":"failpoint","point":…}` and stops there for good. Unset (the default) in production.
 */
export const failpointEnv = z.object({
  FAILPOINTS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(FAILPOINT_NAMES))),
});

/**
 * Health thresholds (GET /api/backup/health, /healthz/backups, the health-check job): both services judge
 * health, so both read the same limits.
 */
export const healthEnv = z.object({
  /** Maximum age of the newest completed backup for a daily, weekly and monthly schedule (26 h, 8 days, 32 days). */
  BACKUP_HEALTH_MAX_AGE_DAILY_HOURS: z.coerce.number().int().min(1).default(26),
  BACKUP_HEALTH_MAX_AGE_WEEKLY_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .default(8 * 24),
  BACKUP_HEALTH_MAX_AGE_MONTHLY_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .default(32 * 24),
  /** How long after its due time a scheduled run may take to appear before it counts as missed. */
  BACKUP_HEALTH_SCHEDULE_GRACE_MINUTES: z.coerce.number().int().min(1).default(60),
  /** Total size every stored copy may take; unset: no limit. */
  BACKUP_HEALTH_MAX_TOTAL_MB: z.coerce.number().int().min(1).optional(),
});
