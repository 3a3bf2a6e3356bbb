import type { PgPool, PrismaClient } from '@mp/db';
import { AppError } from './errors.js';

const ROW_ID = 'global';

export interface MaintenanceView {
  active: boolean;
  reason: string | null;
  since: Date | null;
  jobId: string | null;
  operationId: string | null;
}

type Db = Pick<PrismaClient, 'maintenanceState'>;

/** Current maintenance state; a missing row means "not active". */
export async function getMaintenance(prisma: Db): Promise<MaintenanceView> {
  const row = await prisma.maintenanceState.findUnique({ where: { id: ROW_ID } });
  if (!row?.active) return { active: false, reason: null, since: null, jobId: null, operationId: null };
  return { active: true, reason: row.reason, since: row.since, jobId: row.jobId, operationId: row.operationId };
}

/**
 * The active maintenance row (`reason`, `since`, `jobId`), or no row: the one SQL spelling of the check, for
 * the node-pg hot paths (the API's guard, the backup insert's CTE). Everything else goes through Prisma.
 */
const ACTIVE_ROW = `id = '${ROW_ID}' AND active`;
export const ACTIVE_MAINTENANCE_SQL = `SELECT reason, since, "jobId" FROM maintenance_state WHERE ${ACTIVE_ROW}`;

/**
 * {@link assertNotInMaintenance} as one prepared node-pg statement, for the API's guard on every mutating
 * route: it keeps Prisma (and its WebAssembly query compiler) off the hot enqueue path.
 * @throws AppError MAINTENANCE_ACTIVE
 */
export async function assertNotInMaintenanceOn(pool: PgPool): Promise<void> {
  const { rows } = await pool.query<Pick<MaintenanceView, 'reason' | 'since' | 'jobId'>>({
    name: 'mp-maintenance-active',
    text: ACTIVE_MAINTENANCE_SQL,
  });
  const row = rows[0];
  if (row) throw maintenanceActive(row);
}

/**
 * Throws when maintenance is on. Mutating backup requests call it; reads never do.
 * Accepts a transaction client so a check and a write can share one transaction.
 * @throws AppError MAINTENANCE_ACTIVE
 */
export async function assertNotInMaintenance(prisma: Db): Promise<void> {
  const state = await getMaintenance(prisma);
  if (state.active) throw maintenanceActive(state);
}

/** The 503 a mutating request gets while a restore or reset holds maintenance mode. */
export function maintenanceActive(state: Pick<MaintenanceView, 'reason' | 'since' | 'jobId'>): AppError {
  return new AppError('MAINTENANCE_ACTIVE', `Maintenance in progress (${state.reason ?? 'restore'}); try again later`, {
    reason: state.reason,
    since: state.since,
    jobId: state.jobId,
  });
}

/** Turns maintenance on for a restore or reset job (used by the worker). Overwrites any previous owner. */
export async function enterMaintenance(
  prisma: Db,
  input: { reason: string; jobId: string; operationId?: string | null; now?: Date },
): Promise<void> {
  const data = {
    active: true,
    reason: input.reason,
    jobId: input.jobId,
    operationId: input.operationId ?? null,
    since: input.now ?? new Date(),
  };
  await prisma.maintenanceState.upsert({ where: { id: ROW_ID }, create: { id: ROW_ID, ...data }, update: data });
}

/**
 * Turns maintenance off. With `jobId`, only when that job owns it (a finishing job never ends another's
 * maintenance); without, unconditionally (worker start-up after a crash).
 * @returns true when a row was switched off
 */
export async function exitMaintenance(prisma: Db, input: { jobId?: string } = {}): Promise<boolean> {
  const { count } = await prisma.maintenanceState.updateMany({
    where: { id: ROW_ID, active: true, ...(input.jobId !== undefined ? { jobId: input.jobId } : {}) },
    data: { active: false, reason: null, jobId: null, operationId: null, since: null },
  });
  return count > 0;
}
