import { z } from 'zod';

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgresql:// URL');
const redisUrl = z.string().refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// URL');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Shared fragments composed into each service's schema. */
export const databaseEnv = z.object({ DATABASE_URL: postgresUrl });

export const redisEnv = z.object({
  REDIS_URL: redisUrl,
  /** Key prefix of every BullMQ queue; tests use a unique one each. */
  QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9:_-]+$/, 'letters, digits, : _ - only').default('mp'),
});

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
  CLOUDINARY_CHUNK_MB: z.coerce.number().int().min(5).max(94).default(20),
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

/** Points where a process can be told to stop and wait, so a crash drill can kill it there (see @mp/core `reachFailpoint`). */
export const FAILPOINT_NAMES = [
  'export.mid-table',
  'upload.mid-chunk',
  'restore.staging',
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
    .transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(FAILPOINT_NAMES))),
});
