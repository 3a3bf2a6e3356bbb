import type { BackupJobResult, JobStatus } from '@mp/core';

/** Where a finished backup's file is downloaded (the API's route; core knows only the id). */
export const downloadPath = (backupId: string) => `/api/backup/download/${backupId}`;
/** How a reset's generated SuperAdmin password is claimed (see `claimResetPassword`). */
export const RESET_CLAIM_HINT = 'POST /api/auth/reset-claim { jobId, claimToken }';

/**
 * A job status as `GET /api/backup/jobs/:jobId` answers it: core's status, with the HTTP paths a client
 * follows added to the result (a backup's `downloadUrl`, a reset's `claimWith`), last, as before.
 */
export function toJobStatusView(status: JobStatus) {
  return { ...status, result: withLinks(status) };
}

function withLinks(status: JobStatus): unknown {
  const { kind, result } = status;
  if (!result || typeof result !== 'object') return result;
  if (kind === 'backup.create' || kind === 'backup.scheduled') {
    const backup = result as BackupJobResult;
    return { ...backup, downloadUrl: downloadPath(backup.backupId) };
  }
  if (kind === 'backup.reset' && (result as { generatedPasswordPending?: unknown }).generatedPasswordPending === true) {
    return { ...result, claimWith: RESET_CLAIM_HINT };
  }
  return result;
}
