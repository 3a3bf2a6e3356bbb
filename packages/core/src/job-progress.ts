import { z } from 'zod';

/** The stages a job reports, in the order a backup or restore passes through the ones it uses. */
export const JOB_STAGES = [
  'queued',
  'exporting',
  'uploading',
  'verifying',
  'validating',
  'safety-backup',
  'replacing',
  'cleaning-up',
  'preparing',
  'comparing',
  'rekeying',
  'done',
] as const;

/**
 * What a job reports as it runs (BullMQ's `job.updateProgress`) and keeps in its row's `progress` column
 * (`BackupRecord.progress`, `Operation.progress`).
 */
export const jobProgressSchema = z.object({
  percent: z.number(),
  stage: z.enum(JOB_STAGES),
  table: z.string().optional(),
  /** Rows done so far, all tables together. */
  rows: z.number().optional(),
  /** Rows per table (export order) of the backup being written. */
  counts: z.record(z.string(), z.number()).optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/**
 * A progress as read back (a stored column, or whatever a job reported, older versions included): each field
 * kept when it has the right type and dropped otherwise, `counts` reduced to its finite numbers; anything that
 * is not an object reads as no field at all.
 */
export const storedProgressSchema = z
  .object({
    percent: z.number().optional().catch(undefined),
    stage: z.string().optional().catch(undefined),
    table: z.string().optional().catch(undefined),
    rows: z.number().optional().catch(undefined),
    counts: z
      .record(z.string(), z.unknown())
      .transform((c) =>
        Object.fromEntries(
          Object.entries(c).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])),
        ),
      )
      .optional()
      .catch(undefined),
  })
  .catch({});
export type StoredProgress = z.infer<typeof storedProgressSchema>;
