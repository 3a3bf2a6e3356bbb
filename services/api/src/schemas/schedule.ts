import { z } from 'zod';
import { scheduleSettingsSchema, type PrunePreview, type ScheduleView } from '@mp/core';
import { viewOf } from './envelope.js';
import { EXAMPLE_IDS } from './params.js';

/** Bodies and answers of the schedule and retention routes. */

/** PUT body: fields left out keep their stored value; unknown fields are a 400. */
export const scheduleBody = scheduleSettingsSchema
  .partial()
  .strict()
  .meta({ examples: [{ frequency: 'daily', location: 'local', retentionDays: 30, keepWeekly: 8, keepMonthly: 12 }] });

export const scheduleViewSchema = viewOf<ScheduleView>()({
  ...scheduleSettingsSchema.shape,
  timezone: z.string().meta({ description: 'The zone the 02:00 runs are read in' }),
  lastBackupAt: z.string().nullable(),
  nextBackupAt: z.string().nullable().meta({ description: 'Null when disabled' }),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
});

export const SCHEDULE_EXAMPLE = {
  frequency: 'daily',
  location: 'local',
  retentionDays: 30,
  includeAuditLogs: false,
  includeSessions: false,
  drillFrequency: 'weekly',
  keepDaily: null,
  keepWeekly: 8,
  keepMonthly: 12,
  keepYearly: null,
  maxTotalSizeMb: null,
  timezone: 'Africa/Lagos',
  lastBackupAt: '2026-11-24T01:00:03.412Z',
  nextBackupAt: '2026-11-25T01:00:00.000Z',
  updatedAt: '2026-11-20T09:30:00.000Z',
  updatedBy: 'admin',
};

export const previewQuery = z.object({ retentionDays: z.coerce.number().int().min(1).max(3650).optional() }).strict();

const previewBackup = {
  id: z.uuid(),
  filename: z.string(),
  type: z.enum(['manual', 'scheduled', 'pre-restore']),
  status: z.enum(['queued', 'running', 'completed', 'partial', 'failed']),
  location: z.enum(['local', 'cloud', 'both']),
  fileSize: z.number().nullable(),
  createdAt: z.string(),
};

export const prunePreviewSchema = viewOf<PrunePreview>()({
  retentionDays: z.number(),
  rules: z.object({
    keepWithinDays: z.number().optional(),
    keepDaily: z.number().optional(),
    keepWeekly: z.number().optional(),
    keepMonthly: z.number().optional(),
    keepYearly: z.number().optional(),
    maxTotalSizeMb: z.number().optional(),
  }),
  timeZone: z.string(),
  cutoff: z.string(),
  keptId: z.string().nullable(),
  keptBytes: z.number(),
  overSizeCap: z.boolean(),
  backups: z.array(z.object(previewBackup)).meta({ description: 'What a prune would delete, oldest first' }),
  decisions: z
    .array(
      z.object({
        ...previewBackup,
        action: z.enum(['keep', 'delete']),
        reasons: z.array(z.string()),
        overridden: z
          .array(z.string())
          .optional()
          .meta({ description: 'Deleted by the size cap: the rules that would have kept it' }),
      }),
    )
    .meta({ description: 'Every backup, newest first, with its decision and why' }),
});

export const PRUNE_PREVIEW_EXAMPLE = {
  retentionDays: 30,
  rules: { keepWithinDays: 30, keepWeekly: 8 },
  timeZone: 'Africa/Lagos',
  cutoff: '2026-10-25T12:00:00.000Z',
  keptId: EXAMPLE_IDS.backup,
  keptBytes: 1_446_390,
  overSizeCap: false,
  backups: [],
  decisions: [
    {
      id: EXAMPLE_IDS.backup,
      filename: 'backup_2026-11-24T02-00-00-000Z_1f0c9a2b.json',
      type: 'scheduled',
      status: 'completed',
      location: 'local',
      fileSize: 48213,
      createdAt: '2026-11-24T02:00:00.000Z',
      action: 'keep',
      reasons: ['newest completed backup', 'within 30 days'],
    },
  ],
};
