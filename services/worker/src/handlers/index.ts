import type { Job } from 'bullmq';
import { JOB_NAMES, type JobName, type JobPayload } from '@mp/jobs';
import type { WorkerDeps } from '../deps.js';
import { handleBackupCreate } from './backup-create.handler.js';
import { handleBackupPrune } from './backup-prune.handler.js';
import { handleBackupReset } from './backup-reset.handler.js';
import { handleBackupRestore } from './backup-restore.handler.js';
import { handleBackupScheduled } from './backup-scheduled.handler.js';
import { handleBackupVerify } from './backup-verify.handler.js';
import { handleBackupDrill, handleBackupScheduledDrill } from './backup-drill.handler.js';
import { handleBackupUndo } from './backup-undo.handler.js';
import { handleBackupRestorePoints } from './backup-restore-points.handler.js';
import { handleBackupPreview } from './backup-preview.handler.js';
import { handleBackupEntityRestore } from './backup-entity-restore.handler.js';
import { handleBackupRekey } from './backup-rekey.handler.js';
import { handleBackupHealthCheck } from './backup-health-check.handler.js';
import { handleBackupAlert } from './backup-alert.handler.js';

/** `token` is the job's lock token, needed to move it (e.g. to delayed) from inside the handler. */
export type Handler<N extends JobName> = (
  job: Job<JobPayload<N>>,
  deps: WorkerDeps,
  token?: string,
) => Promise<unknown>;
/** One handler per catalog job: a job without a handler does not compile. */
export type HandlerMap = { [N in JobName]: Handler<N> };

export const handlers: HandlerMap = {
  'backup.create': handleBackupCreate,
  'backup.scheduled': handleBackupScheduled,
  'backup.prune': handleBackupPrune,
  'backup.verify': handleBackupVerify,
  'backup.restore': handleBackupRestore,
  'backup.reset': handleBackupReset,
  'backup.drill': handleBackupDrill,
  'backup.scheduled-drill': handleBackupScheduledDrill,
  'backup.undo': handleBackupUndo,
  'backup.restore-points': handleBackupRestorePoints,
  'backup.preview': handleBackupPreview,
  'backup.entity_restore': handleBackupEntityRestore,
  'backup.rekey': handleBackupRekey,
  'backup.health-check': handleBackupHealthCheck,
  'backup.alert': handleBackupAlert,
};

/** Start-up refuses a map that misses a job (for maps built at run time, e.g. in tests). */
export function assertCompleteHandlerMap(map: Partial<Record<string, unknown>>): void {
  const missing = JOB_NAMES.filter((name) => typeof map[name] !== 'function');
  if (missing.length > 0) throw new Error(`No handler for job(s): ${missing.join(', ')}`);
}
