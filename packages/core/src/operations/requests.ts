import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Logger } from '@mp/logger';
import type { PgClient, PgPool, Prisma, PrismaClient } from '@mp/db';
import type { JobName, JobPayload, Producer } from '@mp/jobs';
import { AppError } from '../errors.js';
import { assertNotInMaintenance } from '../maintenance.js';
import { readMetadata } from '../backup-format/metadata.js';
import { assertEntityTarget } from '../restore/entity/input.js';

/** Advisory lock key serialising "check for a running restore/reset, then insert" across API replicas. */
const EXCLUSIVE_OPERATION_LOCK = 0x6d70_7273n;

type Tx = Prisma.TransactionClient;

/**
 * Runs `fn` in a transaction holding the exclusive-operation advisory lock, so two replicas cannot both
 * see "nothing running" and both insert. The lock is released at commit/rollback.
 */
export async function withOperationLock<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${EXCLUSIVE_OPERATION_LOCK})`;
    return fn(tx);
  });
}

/**
 * {@link withOperationLock} on a node-pg client, for hot paths where Prisma's interactive transaction
 * (about 1 ms of CPU for BEGIN, lock, checks, insert, COMMIT) shows in the API's latency: BEGIN and the lock
 * go in one round trip, then `fn`, then COMMIT (ROLLBACK when `fn` throws). Same lock key, so it
 * serialises with the Prisma variant.
 * Trap: the lock is taken by its own statement, before `fn` runs, so `fn`'s statements see everything
 * committed by whoever held the lock before (a check folded into the locking statement would not).
 */
export async function withOperationLockOn<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${EXCLUSIVE_OPERATION_LOCK})`);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A connection that cannot even roll back is dropped rather than returned to the pool mid-transaction.
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The error for a restore or reset that is queued or running. */
export function operationInProgress(running: { id: string; kind: string; status: string; jobId: string | null }): AppError {
  return new AppError('OPERATION_IN_PROGRESS', `A ${running.kind} is already ${running.status}; wait for it to finish`, {
    operationId: running.id,
    jobId: running.jobId,
  });
}

/** Operations that replace live tables under the exclusive-run lock: one at a time. */
export const EXCLUSIVE_KINDS = ['restore', 'reset', 'undo'] as const;

/**
 * Throws when a restore, reset or undo is queued or running. Call inside {@link withOperationLock}.
 * @throws AppError OPERATION_IN_PROGRESS
 */
export async function assertNoExclusiveOperation(tx: Tx): Promise<void> {
  const running = await tx.operation.findFirst({
    where: { kind: { in: [...EXCLUSIVE_KINDS] }, status: { in: ['queued', 'running'] } },
    select: { id: true, kind: true, status: true, jobId: true },
  });
  if (running) throw operationInProgress(running);
}

export type RestoreSource = { kind: 'backup'; backupId: string } | { kind: 'file'; path: string; compressed: boolean };

interface OperationDeps {
  prisma: PrismaClient;
  producer: Producer;
  logger: Logger;
}

export interface OperationAccepted {
  operationId: string;
  jobId: string;
}

/**
 * Accepts a restore: checks (maintenance off, no restore/reset queued or running, the backup exists and is
 * usable) and inserts the `queued` Operation under one advisory lock, then enqueues `backup.restore`
 * with jobId = operation id. The worker does the rest (`allowNoAdmin` travels in the operation's input).
 * Traps: `operationId` may be chosen by the caller (the upload is already named after it). A `file`
 * source is deleted whenever the request fails before the job is enqueued; afterwards it belongs to the worker.
 * @throws AppError MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestRestore(
  deps: OperationDeps,
  input: { source: RestoreSource; skipSafetyBackup: boolean; allowNoAdmin?: boolean; createdBy: string; operationId?: string } & TablesInput,
): Promise<OperationAccepted> {
  const operationId = input.operationId ?? randomUUID();
  const { source } = input;
  try {
    await withOperationLock(deps.prisma, async (tx) => {
      await assertNotInMaintenance(tx);
      await assertNoExclusiveOperation(tx);
      if (source.kind === 'backup') await assertRestorableBackup(tx, source.backupId);
      await tx.operation.create({
        data: {
          id: operationId,
          kind: 'restore',
          jobId: operationId,
          backupId: source.kind === 'backup' ? source.backupId : null,
          input: { source, skipSafetyBackup: input.skipSafetyBackup, allowNoAdmin: input.allowNoAdmin === true, ...tablesOf(input) },
          createdBy: input.createdBy,
        },
      });
    });
  } catch (err) {
    if (source.kind === 'file') await rm(source.path, { force: true });
    throw err;
  }
  await enqueueOperation(deps, 'backup.restore', operationId, source.kind === 'file' ? source.path : null);
  return { operationId, jobId: operationId };
}

/** A selective restore or preview: table keys (checked by the API against the format's tables). */
export interface TablesInput {
  tables?: string[];
  withDependencies?: boolean;
}

const tablesOf = (input: TablesInput) => (input.tables ? { tables: input.tables, withDependencies: input.withDependencies === true } : {});

/**
 * Accepts a preview of a restore (same sources and table selection as {@link requestRestore}): a
 * read-only `backup.preview` job on the backup queue. No maintenance mode and no exclusivity: it
 * stages into its own schema and only reads the live tables.
 * Trap: a `file` source is deleted whenever the request fails before the job is enqueued.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestPreview(
  deps: OperationDeps,
  input: { source: RestoreSource; createdBy: string; operationId?: string; entity?: { entityType: string; entityId: string } } & TablesInput,
): Promise<OperationAccepted> {
  const operationId = input.operationId ?? randomUUID();
  const { source, entity } = input;
  try {
    if (entity) assertEntityTarget(entity.entityType, entity.entityId);
    await deps.prisma.$transaction(async (tx) => {
      if (source.kind === 'backup') await assertRestorableBackup(tx, source.backupId);
      await tx.operation.create({
        data: {
          id: operationId,
          kind: 'preview',
          jobId: operationId,
          backupId: source.kind === 'backup' ? source.backupId : null,
          input: { source, ...tablesOf(input), ...(entity ? { entity } : {}) },
          createdBy: input.createdBy,
        },
      });
    });
  } catch (err) {
    if (source.kind === 'file') await rm(source.path, { force: true });
    throw err;
  }
  await enqueueOperation(deps, 'backup.preview', operationId, source.kind === 'file' ? source.path : null);
  return { operationId, jobId: operationId };
}

/**
 * Accepts a reset (wipe all data, then a fresh SuperAdmin). The token must be exactly `DELETE`;
 * the same one-at-a-time and maintenance rules as restore apply.
 * @throws AppError INVALID_CONFIRMATION_TOKEN, MAINTENANCE_ACTIVE, OPERATION_IN_PROGRESS, QUEUE_UNAVAILABLE
 */
export async function requestReset(
  deps: OperationDeps,
  input: { confirmationToken: string; createdBy: string },
): Promise<OperationAccepted & { claimToken: string }> {
  if (input.confirmationToken !== 'DELETE') {
    throw new AppError('INVALID_CONFIRMATION_TOKEN', 'confirmationToken must be exactly "DELETE"');
  }
  const operationId = randomUUID();
  // The reset deletes every account, the requester's too: this token is how they get the new
  // SuperAdmin password afterwards (POST /api/auth/reset-claim). Only its hash is stored.
  const claimToken = randomBytes(32).toString('base64url');
  await withOperationLock(deps.prisma, async (tx) => {
    await assertNotInMaintenance(tx);
    await assertNoExclusiveOperation(tx);
    await tx.operation.create({
      data: { id: operationId, kind: 'reset', jobId: operationId, input: { claimTokenSha256: sha256(claimToken) }, createdBy: input.createdBy },
    });
  });
  await enqueueOperation(deps, 'backup.reset', operationId, null);
  return { operationId, jobId: operationId, claimToken };
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Hands out, once, the SuperAdmin password a finished reset generated, to whoever holds the claim
 * token the reset request answered with. The password is removed from the stored result in the same
 * statement, so a second claim (or a stolen token used later) gets nothing.
 * @throws AppError INVALID_CREDENTIALS for an unknown job or a wrong token (indistinguishable);
 *   OPERATION_IN_PROGRESS while the reset still runs; NOT_FOUND when there is nothing (left) to claim
 */
export async function claimResetPassword(
  deps: { prisma: PrismaClient },
  input: { jobId: string; claimToken: string },
): Promise<{ username: string; password: string; mustChangePassword: true }> {
  const op = await deps.prisma.operation.findFirst({ where: { kind: 'reset', OR: [{ id: input.jobId }, { jobId: input.jobId }] } });
  const expected = (op?.input as { claimTokenSha256?: string } | undefined)?.claimTokenSha256;
  const given = Buffer.from(sha256(input.claimToken), 'hex');
  if (!op || !expected || !timingSafeEqual(Buffer.from(expected, 'hex'), given)) {
    throw new AppError('INVALID_CREDENTIALS', 'Unknown reset job or wrong claim token');
  }
  if (op.status !== 'completed') throw new AppError('OPERATION_IN_PROGRESS', `The reset is ${op.status}; claim the password once it completed`);
  const rows = await deps.prisma.$queryRaw<{ password: string | null; username: string | null }[]>`
    WITH old AS (SELECT result FROM operations WHERE id = ${op.id} FOR UPDATE)
    UPDATE operations o SET result = (o.result - 'generatedPassword') || '{"generatedPasswordShown": true}'::jsonb
      FROM old WHERE o.id = ${op.id} AND old.result ? 'generatedPassword'
    RETURNING old.result->>'generatedPassword' AS password, old.result->'superAdmin'->>'username' AS username`;
  const row = rows[0];
  if (!row?.password) throw new AppError('NOT_FOUND', 'No generated password to claim: it was claimed already, or the password came from configuration');
  return { username: row.username ?? 'SuperAdmin', password: row.password, mustChangePassword: true };
}

/**
 * Accepts a verification of every stored copy of a backup (see `verifyBackup`). Read-only, so it may run
 * beside other jobs; the report lands on the backup record and in the job result.
 * @throws AppError BACKUP_NOT_FOUND, BACKUP_NOT_READY, QUEUE_UNAVAILABLE
 */
export async function requestVerify(
  deps: OperationDeps,
  input: { backupId: string; createdBy: string },
): Promise<OperationAccepted> {
  const operationId = randomUUID();
  await deps.prisma.$transaction(async (tx) => {
    await assertRestorableBackup(tx, input.backupId);
    await tx.operation.create({
      data: { id: operationId, kind: 'verify', jobId: operationId, backupId: input.backupId, input: {}, createdBy: input.createdBy },
    });
  });
  await enqueueOperation(deps, 'backup.verify', operationId, null, { operationId, backupId: input.backupId });
  return { operationId, jobId: operationId };
}

async function assertRestorableBackup(tx: Tx, backupId: string): Promise<void> {
  const backup = await tx.backupRecord.findUnique({ where: { id: backupId }, select: { status: true } });
  if (!backup) throw new AppError('BACKUP_NOT_FOUND', `Backup ${backupId} not found`);
  if (backup.status !== 'completed' && backup.status !== 'partial') {
    throw new AppError('BACKUP_NOT_READY', `Backup ${backupId} is ${backup.status}; only a completed backup can be restored or verified`);
  }
}

async function enqueueOperation<N extends 'backup.restore' | 'backup.reset' | 'backup.verify' | 'backup.preview'>(
  deps: OperationDeps,
  name: N,
  operationId: string,
  uploadPath: string | null,
  payload: JobPayload<N> = { operationId } as JobPayload<N>,
): Promise<void> {
  try {
    await enqueueWithin(deps.producer, name, payload, operationId);
  } catch (err) {
    deps.logger.error({ err: errorSummary(err), operationId, job: name }, 'enqueue failed');
    await deps.prisma.operation.update({
      where: { id: operationId },
      data: { status: 'failed', error: 'Job queue unavailable; the request was not started', completedAt: new Date() },
    });
    if (uploadPath) await rm(uploadPath, { force: true });
    throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; try again shortly', undefined, { cause: err });
  }
}

/** How long an enqueue may take before the API answers 503 instead of hanging. */
export const ENQUEUE_TIMEOUT_MS = 3_000;

/**
 * `producer.enqueue` bounded by {@link ENQUEUE_TIMEOUT_MS}: while Redis is unreachable BullMQ waits for the
 * connection instead of failing, which would hang the request.
 * Trap: after a timeout the add may still land once Redis is back; the caller has already marked the row
 * failed, and the worker must skip a job whose row is no longer queued.
 */
export async function enqueueWithin<N extends JobName>(producer: Producer, name: N, payload: JobPayload<N>, jobId: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`enqueue of ${name} timed out after ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS);
  });
  try {
    await Promise.race([producer.enqueue(name, payload, { jobId }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Name and message only: a Redis client error can carry connection details. */
export function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}

/**
 * Quick checks of a backup document sent in a request body, before it is written for the worker:
 * an object with `metadata` (a known format version) and a `data` object. The worker validates the rest.
 * @throws AppError INVALID_BACKUP_FILE, UNSUPPORTED_BACKUP_VERSION
 */
export function checkBackupDocument(doc: unknown): void {
  const d = doc as { metadata?: unknown; data?: unknown } | null;
  const problems: string[] = [];
  if (!d || typeof d !== 'object' || Array.isArray(d)) problems.push('backupData must be an object with metadata and data');
  else {
    if (!d.metadata || typeof d.metadata !== 'object' || Array.isArray(d.metadata)) problems.push('metadata must be an object');
    if (!d.data || typeof d.data !== 'object' || Array.isArray(d.data)) problems.push('data must be an object of tables');
  }
  if (problems.length > 0) throw new AppError('INVALID_BACKUP_FILE', 'The backup document is malformed', { problems });
  readMetadata((d as { metadata: unknown }).metadata);
}
