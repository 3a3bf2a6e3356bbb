import { z } from 'zod';
import type { BackupSchedule, PrismaClient } from '@mp/db';
import { AppError } from '../errors.js';
import { COMPRESSIONS } from '../backup-format/compression.js';
import type { StorageSet } from '../deps.js';

/** Id of the one schedule row. */
export const SCHEDULE_ID = 'default';

export const SCHEDULE_FREQUENCIES = ['disabled', 'daily', 'weekly', 'monthly'] as const;
export type ScheduleFrequency = (typeof SCHEDULE_FREQUENCIES)[number];
export const BACKUP_LOCATIONS = ['local', 'cloud', 'both'] as const;
export type BackupLocationName = (typeof BACKUP_LOCATIONS)[number];

/** What a fresh install starts with (the row is created lazily with these values). */
export const DEFAULT_SCHEDULE = {
  frequency: 'daily',
  location: 'local',
  retentionDays: 30,
  includeAuditLogs: false,
  includeSessions: false,
  compression: 'gzip',
  drillFrequency: 'weekly',
  keepDaily: null,
  keepWeekly: null,
  keepMonthly: null,
  keepYearly: null,
  maxTotalSizeMb: null,
} as const satisfies ScheduleSettings;

/** A GFS count (docs/retention.md): a whole number ≥ 0; null leaves the rule unused. */
const keepCount = z.number().int('must be a whole number').min(0).max(100_000).nullable();

/** The editable settings; strict, so an unknown field is a validation error rather than silently dropped. */
export const scheduleSettingsSchema = z
  .object({
    frequency: z.enum(SCHEDULE_FREQUENCIES),
    location: z.enum(BACKUP_LOCATIONS),
    retentionDays: z.number().int().min(1).max(3650),
    includeAuditLogs: z.boolean(),
    includeSessions: z.boolean(),
    /** Codec of scheduled files past the compression threshold; gzip (the default) or zstd (faster, smaller). */
    compression: z.enum(COMPRESSIONS),
    /** How often a restore drill runs on the newest completed backup (its own job scheduler). */
    drillFrequency: z.enum(SCHEDULE_FREQUENCIES),
    keepDaily: keepCount,
    keepWeekly: keepCount,
    keepMonthly: keepCount,
    keepYearly: keepCount,
    /** 0 would delete every backup retention does not protect: refused as a likely mistake. */
    maxTotalSizeMb: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1 (or null for no cap)')
      .max(100_000_000)
      .nullable(),
  })
  .strict();
export type ScheduleSettings = z.output<typeof scheduleSettingsSchema>;

/** A client or a transaction client: both have the model delegates used here. */
export type PrismaLike = Pick<PrismaClient, 'backupSchedule'>;

/** Picks the editable settings out of a stored row. */
export function settingsOf(row: BackupSchedule): ScheduleSettings {
  return {
    frequency: row.frequency,
    location: row.location,
    retentionDays: row.retentionDays,
    includeAuditLogs: row.includeAuditLogs,
    includeSessions: row.includeSessions,
    compression: row.compression,
    drillFrequency: row.drillFrequency,
    keepDaily: row.keepDaily,
    keepWeekly: row.keepWeekly,
    keepMonthly: row.keepMonthly,
    keepYearly: row.keepYearly,
    maxTotalSizeMb: row.maxTotalSizeMb,
  };
}

/**
 * Reads the schedule row, creating it with {@link DEFAULT_SCHEDULE} when it does not exist yet.
 * Safe under concurrency: the create is `INSERT … ON CONFLICT DO NOTHING` (`skipDuplicates`), then a read.
 * Trap: Prisma's `upsert` is not that here (a read, then an INSERT): two workers starting together on a
 * fresh database both inserted, and the loser died at start-up on the unique key.
 */
export async function loadSchedule(deps: { prisma: PrismaLike }): Promise<BackupSchedule> {
  const row = await deps.prisma.backupSchedule.findUnique({ where: { id: SCHEDULE_ID } });
  if (row) return row;
  await deps.prisma.backupSchedule.createMany({
    data: [{ id: SCHEDULE_ID, ...DEFAULT_SCHEDULE }],
    skipDuplicates: true,
  });
  return deps.prisma.backupSchedule.findUniqueOrThrow({ where: { id: SCHEDULE_ID } });
}

/**
 * Throws `CLOUD_STORAGE_NOT_CONFIGURED` when `location` needs a cloud copy and no cloud storage exists.
 * Used by the schedule update and by manual backups alike.
 */
export function assertLocationAvailable(storage: Pick<StorageSet, 'cloud'>, location: BackupLocationName): void {
  if (location !== 'local' && !storage.cloud) {
    throw new AppError(
      'CLOUD_STORAGE_NOT_CONFIGURED',
      `Location "${location}" needs cloud storage, which is not configured (set CLOUDINARY_URL) — use "local"`,
    );
  }
}
