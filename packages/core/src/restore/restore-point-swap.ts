import { z } from 'zod';
import type pg from 'pg';
import type { PrismaClient } from '@mp/db';
import type { Logger } from '@mp/logger';
import { reachFailpoint, type FailpointDeps } from '../failpoints.js';
import type { BuiltTable } from './build.js';
import { dropRestorePoint, listRestorePoints, restorePointBytes, restorePointSchema } from './restore-point.js';
import { swapIn } from './swap.js';

/** The restore point a restore left, as its result and job status show it. */
export interface RestorePointInfo {
  schema: string;
  bytes: number;
  /** ISO time until which the restore can be undone. */
  undoUntil: string;
}

export const restorePointInfoSchema = z.object({
  schema: z.string(),
  bytes: z.number(),
  undoUntil: z.string(),
}) satisfies z.ZodType<RestorePointInfo>;

export const DEFAULT_UNDO_WINDOW_HOURS = 24;

type BookkeepingDeps = {
  prisma: PrismaClient;
  logger: Pick<Logger, 'info' | 'warn'>;
  undoWindowHours?: number;
} & FailpointDeps;

/**
 * The restore's swap, keeping the replaced tables as its restore point, then its bookkeeping
 * ({@link recordRestorePoint}). A crash between the two leaves the new tables live and the point in
 * the catalog: recovery finishes the bookkeeping from there (`finishInterruptedRestores`).
 */
export async function swapInKeepingRestorePoint(
  deps: BookkeepingDeps,
  client: pg.PoolClient,
  input: { schema: string; built: Pick<BuiltTable, 'table'>[]; operationId: string; clearSessions?: boolean },
): Promise<RestorePointInfo> {
  const point = restorePointSchema(input.operationId);
  await swapIn(client, input.schema, input.built, deps, {
    retainIn: { schema: point, operationId: input.operationId },
    clearSessions: input.clearSessions,
  });
  // Crash drills: the swap committed, nothing recorded yet.
  await reachFailpoint(deps, 'restore.after-swap');
  return recordRestorePoint(deps, client, input.operationId);
}

/**
 * Records restore `operationId`'s point on its Operation row (schema, size, `undoUntil` = now + the
 * window), then drops every earlier restore point: a later restore ends the undo of earlier ones.
 * Call with the `LIVE_TABLES_LOCK` held (it drops schemas another run could be using).
 */
export async function recordRestorePoint(
  deps: BookkeepingDeps,
  client: pg.PoolClient,
  operationId: string,
): Promise<RestorePointInfo> {
  const schema = restorePointSchema(operationId);
  const bytes = await restorePointBytes(client, schema);
  const hours = deps.undoWindowHours ?? DEFAULT_UNDO_WINDOW_HOURS;
  const undoUntil = new Date(Date.now() + hours * 3_600_000);
  await deps.prisma.operation.update({
    where: { id: operationId },
    data: { restorePoint: schema, restorePointBytes: bytes, undoUntil, restorePointDroppedAt: null },
  });
  for (const earlier of (await listRestorePoints(client)).filter((p) => p.schema !== schema)) {
    await dropRestorePoint(client, earlier.schema);
    await markDropped(deps.prisma, earlier.schema);
    deps.logger.info(
      { restorePoint: earlier.schema, by: operationId },
      'restore point dropped: a later restore replaced the data',
    );
  }
  return { schema, bytes: Number(bytes), undoUntil: undoUntil.toISOString() };
}

/** Marks the operations whose restore point `schema` was dropped. */
export async function markDropped(prisma: PrismaClient, schema: string): Promise<void> {
  await prisma.operation.updateMany({
    where: { restorePoint: schema, restorePointDroppedAt: null },
    data: { restorePointDroppedAt: new Date() },
  });
}
