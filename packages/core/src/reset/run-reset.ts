import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from '@mp/jobs';
import { generateStrongPassword, hashPassword } from '../auth/password.js';
import { quoteIdent } from '../backup-format/catalog.js';
import { BACKUP_TABLES } from '../backup-format/tables.js';
import type { BackupRunDeps } from '../export/run-backup.js';
import type { JobProgress } from '../job-progress.js';
import { takeSafetyBackup, withExclusiveMaintenance } from '../restore/exclusive.js';
import { dropAllRestorePoints } from '../restore/restore-point.js';
import { markDropped } from '../restore/restore-point-swap.js';
import { reachFailpoint } from '../failpoints.js';

export const SUPERADMIN_USERNAME = 'SuperAdmin';

export interface ResetResult {
  safetyBackupId: string;
  superAdmin: { id: string; username: string; mustChangePassword: true };
  /** Present only when no password was configured: shown once, then removed from the stored result. */
  generatedPassword?: string;
  durationMs: number;
}

/** {@link ResetResult} as stored on `Operation.result` (JSON; `generatedPassword` gone once claimed). */
export const resetResultSchema = z.object({
  safetyBackupId: z.string(),
  superAdmin: z.object({ id: z.string(), username: z.string(), mustChangePassword: z.literal(true) }),
  generatedPassword: z.string().optional(),
  durationMs: z.number(),
}) satisfies z.ZodType<ResetResult>;

/**
 * Emergency reset: with maintenance on, takes a full safety backup, then in one transaction wipes
 * every domain table (users, unions, members, loan types, loans, repayments, audit logs, sessions)
 * and creates the `SuperAdmin` account (role ADMIN, must change its password at next login).
 *
 * The password comes from configuration (`superAdminPassword`, checked for strength at start-up)
 * or is generated and returned once in the result. There is no default password.
 */
export async function runReset(
  deps: BackupRunDeps & { superAdminPassword?: string },
  operationId: string,
  ctx: { jobId: string; onProgress?: (p: JobProgress) => void },
): Promise<ResetResult> {
  const started = Date.now();
  const op = await deps.prisma.operation.findUnique({ where: { id: operationId } });
  if (!op) throw new UnrecoverableError(`Operation ${operationId} does not exist`);
  const progress = ctx.onProgress ?? (() => {});
  return withExclusiveMaintenance(deps, { jobId: ctx.jobId, operationId, reason: 'reset' }, async (client) => {
    progress({ percent: 5, stage: 'safety-backup' });
    const safetyBackupId = await takeSafetyBackup(deps, { createdBy: op.createdBy });
    const generated = deps.superAdminPassword ? undefined : generateStrongPassword(20);
    const passwordHash = await hashPassword(deps.superAdminPassword ?? generated!);
    const id = randomUUID();
    progress({ percent: 70, stage: 'replacing' });
    await client.query('BEGIN');
    let droppedPoints: string[] = [];
    try {
      // A reset ends every undo: the restore points (and their write logging) go in the same transaction as the wipe.
      droppedPoints = await dropAllRestorePoints(client);
      await client.query(`TRUNCATE ${BACKUP_TABLES.map((t) => `public.${quoteIdent(t.table)}`).join(', ')}`);
      await client.query(
        `INSERT INTO public.users (id, username, email, "passwordHash", "firstName", "lastName", role, "isActive",
          "mustChangePassword")
         VALUES ($1, $2, $3, $4, 'Super', 'Admin', 'ADMIN', true, true)`,
        [id, SUPERADMIN_USERNAME, 'superadmin@millennium-potters.local', passwordHash],
      );
      await client.query(
        `INSERT INTO public.audit_logs ("actorId", action, "entityType", "entityId", after)
         VALUES ($1, 'SYSTEM_RESET', 'System', $2, $3)`,
        [op.createdBy, operationId, JSON.stringify({ safetyBackupId, superAdminId: id })],
      );
      await reachFailpoint(deps, 'reset.wipe');
      await client.query('COMMIT');
      for (const schema of droppedPoints) await markDropped(deps.prisma, schema);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
    progress({ percent: 100, stage: 'done' });
    return {
      safetyBackupId,
      superAdmin: { id, username: SUPERADMIN_USERNAME, mustChangePassword: true },
      ...(generated ? { generatedPassword: generated } : {}),
      durationMs: Date.now() - started,
    };
  });
}
