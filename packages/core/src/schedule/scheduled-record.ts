import { randomUUID } from 'node:crypto';
import { Prisma, type BackupRecord } from '@mp/db';
import { backupFilename } from '../backups/backup-filename.js';
import type { CoreDeps } from '../deps.js';
import { loadSchedule } from './settings.js';

/** Who `createdBy` names on scheduled records. */
export const SCHEDULER_ACTOR = 'scheduler';

/**
 * Creates the `scheduled` backup record for one run of the job scheduler, with the schedule's
 * options (tables, compression) and location (status `queued`, createdBy `scheduler`, `jobId` = the BullMQ job id), for
 * the ordinary backup pipeline to fill in.
 *
 * Idempotent on `jobId`: a retry of the same scheduled job gets the record created by the first
 * attempt (also when two attempts race: the unique index decides). If the schedule asks for a cloud
 * copy but cloud storage is no longer configured, the record falls back to `local` with a warning
 * rather than failing every night.
 */
export async function createScheduledBackupRecord(
  deps: Pick<CoreDeps, 'prisma' | 'storage' | 'logger' | 'now'>,
  input: { jobId: string },
): Promise<BackupRecord> {
  const existing = await deps.prisma.backupRecord.findUnique({ where: { jobId: input.jobId } });
  if (existing) return existing;

  const schedule = await loadSchedule(deps);
  let location = schedule.location;
  if (location !== 'local' && !deps.storage.cloud) {
    deps.logger.warn(
      { jobId: input.jobId, location },
      'scheduled backup: cloud storage is not configured; storing locally',
    );
    location = 'local';
  }
  const now = deps.now?.() ?? new Date();
  const id = randomUUID();
  try {
    return await deps.prisma.backupRecord.create({
      data: {
        id,
        filename: backupFilename(now, id),
        type: 'scheduled',
        status: 'queued',
        location,
        options: {
          includeAuditLogs: schedule.includeAuditLogs,
          includeSessions: schedule.includeSessions,
          compression: schedule.compression,
        },
        createdBy: SCHEDULER_ACTOR,
        jobId: input.jobId,
        createdAt: now,
      },
    });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      const raced = await deps.prisma.backupRecord.findUnique({ where: { jobId: input.jobId } });
      if (raced) return raced;
    }
    throw err;
  }
}
