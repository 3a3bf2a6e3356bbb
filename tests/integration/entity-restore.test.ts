import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, workerEnvSchema } from '@mp/config';
import {
  RELATIONS,
  getMaintenance,
  previewEntityRestore,
  runBackup,
  type EntityRestoreResult,
  NO_ENCRYPTION,
} from '@mp/core';
import { seedDemoData } from '@mp/db';
import type { RestorePreview } from '../../packages/core/src/restore/preview-types.js';
import { createLogger } from '@mp/logger';
import {
  createBackupRecord,
  closeProducer,
  createUserAndLogin,
  tableHashes,
  waitFor,
  type ApiTestContext,
} from '@mp/testing';
import type { WorkerDeps } from '../../services/worker/src/deps.js';
import { handlers } from '../../services/worker/src/handlers/index.js';
import { startWorkers, type StartedWorkers } from '../../services/worker/src/start-workers.js';
import { reconcileJobs } from '../../services/worker/src/recovery.js';
import { createProducer } from '@mp/jobs';
import { startApiApp, stopApiApp } from './api-harness.js';

// Entity restore through the API and the real worker handler, on a seeded database.
let ctx: ApiTestContext;
let app: FastifyInstance;
let workers: StartedWorkers;
let headers: Record<string, string>;
let adminId: string;
const DATA = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments'];

interface JobAnswer {
  state: string;
  result: EntityRestoreResult | null;
  error: string | null;
  problems: { message: string; field?: string }[] | null;
}

const q = async <T extends object = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await ctx.db.pool.query<T>(sql, params)).rows;
/** What `SELECT count(*) AS n …` answers. */
const count = async (sql: string, params: unknown[]) => Number((await q<{ n: string }>(sql, params))[0]!.n);

async function backup(): Promise<string> {
  const id = await createBackupRecord(ctx.db.prisma);
  await runBackup({ ...workerDeps(), settings: { gzipLevel: 1, compressThresholdBytes: 1024 } }, id, {
    attempt: 1,
    isLastAttempt: true,
  });
  return id;
}

let deps: WorkerDeps;
const workerDeps = () => deps;

/** A multipart/form-data body: text fields, then the file as field `file`. */
function multipart(file: Buffer, fields: Record<string, string>) {
  const boundary = `----mp${randomUUID()}`;
  const parts: Buffer[] = Object.entries(fields).map(([name, value]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
  );
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.json.gz"\r\nContent-Type: ` +
        `application/octet-stream\r\n\r\n`,
    ),
  );
  parts.push(file, Buffer.from(`\r\n--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** POST /api/backup/restore/entity with a JSON body: the answer as it comes. */
const postEntity = (payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/api/backup/restore/entity', headers, payload });

type EntityRestoreBody = Record<string, unknown> | { upload: Buffer; fields: Record<string, string> };

/** POST /api/backup/restore/entity (JSON, or a multipart upload), then the job's answer once it finished. */
async function entityRestore(body: EntityRestoreBody): Promise<JobAnswer> {
  const res =
    'upload' in body
      ? await app.inject({
          method: 'POST',
          url: '/api/backup/restore/entity',
          ...multipart(body.upload as Buffer, body.fields as Record<string, string>),
        })
      : await postEntity(body);
  expect(res.statusCode, res.body).toBe(202);
  const { statusUrl } = res.json().data as { statusUrl: string };
  return waitFor(async () => {
    const answer = (await app.inject({ method: 'GET', url: statusUrl, headers })).json().data as JobAnswer;
    return answer.state === 'completed' || answer.state === 'failed' ? answer : null;
  });
}

/** An entity restore that must complete, without error: its result. */
async function restoreCompleted(body: EntityRestoreBody): Promise<EntityRestoreResult> {
  const answer = await entityRestore(body);
  expect([answer.state, answer.error]).toEqual(['completed', null]);
  return answer.result!;
}

/** The preview of restoring one entity from the stored backup `backupId`. */
const previewFromBackup = (backupId: string, entityType: string, entityId: string) =>
  previewEntityRestore(deps, { source: { kind: 'backup', backupId }, entityType, entityId });

/** The preview's per-table answer in the restore result's terms. */
function previewCounts(preview: RestorePreview) {
  return {
    inserted: Object.fromEntries(preview.tables.filter((t) => t.added > 0).map((t) => [t.table, t.added])),
    skippedIdentical: Object.fromEntries(
      preview.tables.filter((t) => t.rowsLive - t.changed > 0).map((t) => [t.table, t.rowsLive - t.changed]),
    ),
    conflicts: preview.tables.flatMap((t) => t.sampleChangedKeys),
  };
}

beforeAll(async () => {
  ({ ctx, app } = await startApiApp());
  await seedDemoData(ctx.db, { scale: 1, seed: 21 });
  const admin = await createUserAndLogin(app, ctx.db.prisma, 'ADMIN');
  headers = admin.headers;
  adminId = admin.user.id;
  const config = parseConfig(workerEnvSchema, {
    DATABASE_URL: ctx.db.url,
    REDIS_URL: ctx.deps.config.REDIS_URL,
    QUEUE_PREFIX: ctx.deps.config.QUEUE_PREFIX,
    BACKUP_DIR: ctx.backupDir,
    UPLOAD_DIR: ctx.uploadDir,
    LOG_LEVEL: 'silent',
  });
  deps = {
    config,
    encryption: NO_ENCRYPTION,
    logger: createLogger({ level: 'silent' }),
    prisma: ctx.db.prisma,
    pool: ctx.db.pool,
    producer: ctx.deps.producer,
    storage: ctx.deps.storage,
  };
  workers = startWorkers(deps, handlers);
});

afterAll(async () => {
  await workers?.close();
  await stopApiApp(ctx, app);
});

describe('the dependency graph', () => {
  it('is exactly the foreign keys between the data tables, with their delete rules', async () => {
    const live = await q<{ child: string; column: string; parent: string; rule: string }>(
      `SELECT t.relname AS child, a.attname AS column, r.relname AS parent, c.confdeltype AS rule
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND t.relname = ANY($1)`,
      [[...DATA, 'sessions', 'audit_logs']],
    );
    const tableOf: Record<string, string> = {
      users: 'users',
      unions: 'unions',
      unionMembers: 'union_members',
      loanTypes: 'loan_types',
      loans: 'loans',
      repayments: 'repayments',
      sessions: 'sessions',
    };
    const rule: Record<string, string> = { restrict: 'r', setNull: 'n', cascade: 'c' };
    const fromGraph = RELATIONS.map(
      (r) => `${tableOf[r.child]}.${r.column} -> ${tableOf[r.parent]} (${rule[r.onDelete]})`,
    ).sort();
    expect(live.map((f) => `${f.child}.${f.column} -> ${f.parent} (${f.rule})`).sort()).toEqual(fromGraph);
  });
});

describe('POST /api/backup/restore/entity', () => {
  let backupId: string;
  let before: Awaited<ReturnType<typeof tableHashes>>;
  let union: { id: string };
  let loan: { id: string; memberId: string; loanTypeId: string };

  beforeAll(async () => {
    // A union with members, loans and repayments; a loan whose member and loan type exist for it alone.
    [union] = (await q<{ id: string }>(
      `SELECT u.id FROM unions u WHERE EXISTS (SELECT 1 FROM repayments r JOIN loans l ON l.id = r."loanId" JOIN
        union_members m ON m.id = l."unionMemberId" WHERE m."unionId" = u.id)
        ORDER BY u.id LIMIT 1`,
    )) as [{ id: string }];
    const [other] = await q<{ id: string; creditOfficerId: string }>(
      `SELECT id, "creditOfficerId" FROM unions WHERE id <> $1 ORDER BY id LIMIT 1`,
      [union.id],
    );
    const memberId = randomUUID();
    const loanTypeId = randomUUID();
    const loanId = randomUUID();
    await q(
      `INSERT INTO loan_types (id, name, "interestRate", "minAmount", "maxAmount", "durationMonths") VALUES ($1, ` +
        `'Entity test type', 0.05, 100, 1000, 6)`,
      [loanTypeId],
    );
    await q(`INSERT INTO union_members (id, "unionId", "firstName", "lastName") VALUES ($1, $2, 'Ada', 'Obi')`, [
      memberId,
      other!.id,
    ]);
    await q(
      `INSERT INTO loans (id, "loanNumber", "unionMemberId", "loanTypeId", principal, "interestRate", "totalDue",
        "termMonths", "createdById")
       VALUES ($1, 'ENT-0001', $2, $3, 500, 0.05, 525, 6, $4)`,
      [loanId, memberId, loanTypeId, other!.creditOfficerId],
    );
    await q(
      `INSERT INTO repayments (id, "loanId", amount, "paidAt", method, reference) VALUES ($1, $2, 100, now(), ` +
        `'CASH', 'ENT-REF-1')`,
      [randomUUID(), loanId],
    );
    loan = { id: loanId, memberId, loanTypeId };
    before = await tableHashes(ctx.db.pool, DATA);
    backupId = await backup();
  });

  it(
    'brings back a deleted union with its members, loans and repayments, identical, and changes nothing ' + 'else',
    async () => {
      const counts = {
        members: await count(`SELECT count(*) AS n FROM union_members WHERE "unionId" = $1`, [union.id]),
        loans: await count(
          `SELECT count(*) AS n FROM loans l JOIN union_members m ON m.id = l."unionMemberId" WHERE m."unionId" = $1`,
          [union.id],
        ),
        repayments: await count(
          `SELECT count(*) AS n FROM repayments r JOIN loans l ON l.id = r."loanId" JOIN union_members m ON m.id ` +
            `= l."unionMemberId" WHERE m."unionId" = $1`,
          [union.id],
        ),
      };
      const sessionsBefore = await tableHashes(ctx.db.pool, ['sessions']);
      await q(
        `DELETE FROM repayments WHERE "loanId" IN (SELECT l.id FROM loans l JOIN union_members m ON m.id = ` +
          `l."unionMemberId" WHERE m."unionId" = $1)`,
        [union.id],
      );
      await q(`DELETE FROM loans WHERE "unionMemberId" IN (SELECT id FROM union_members WHERE "unionId" = $1)`, [
        union.id,
      ]);
      await q(`DELETE FROM union_members WHERE "unionId" = $1`, [union.id]);
      await q(`DELETE FROM unions WHERE id = $1`, [union.id]);
      expect(await tableHashes(ctx.db.pool, DATA)).not.toEqual(before);

      const preview = await previewFromBackup(backupId, 'union', union.id);
      expect(preview.mode).toBe('entity');
      expect(preview.brokenReferences).toEqual([]);

      const result = await restoreCompleted({ backupId, entityType: 'union', entityId: union.id });
      expect(result.inserted).toEqual({
        unions: 1,
        unionMembers: counts.members,
        loans: counts.loans,
        repayments: counts.repayments,
      });
      expect([result.conflictCount, result.parentsRestored, result.sessionsCleared]).toEqual([0, [], false]);
      // Every row back with its content, value for value; nothing else changed, nobody logged out.
      expect(await tableHashes(ctx.db.pool, DATA)).toEqual(before);
      expect(await tableHashes(ctx.db.pool, ['sessions'])).toEqual(sessionsBefore);
      expect((await app.inject({ method: 'GET', url: '/api/backup/list', headers })).statusCode).toBe(200);
      expect((await getMaintenance(ctx.db.prisma)).active).toBe(false);
      // The preview said exactly this.
      expect(previewCounts(preview)).toEqual({
        inserted: result.inserted,
        skippedIdentical: result.skippedIdentical,
        conflicts: [],
      });

      const [audit] = await q<{
        actorId: string;
        action: string;
        entityType: string;
        entityId: string;
        after: Record<string, unknown>;
      }>(`SELECT "actorId", action, "entityType", "entityId", after FROM audit_logs WHERE id = $1`, [
        result.auditLogId,
      ]);
      expect(audit).toMatchObject({
        actorId: adminId,
        action: 'ENTITY_RESTORED',
        entityType: 'Union',
        entityId: union.id,
      });
      expect(audit!.after).toMatchObject({ backupId, inserted: result.inserted, conflicts: 0 });
    },
  );

  it('brings a loan back with its deleted member and loan type, and lists them', async () => {
    await q(`DELETE FROM repayments WHERE "loanId" = $1`, [loan.id]);
    await q(`DELETE FROM loans WHERE id = $1`, [loan.id]);
    await q(`DELETE FROM union_members WHERE id = $1`, [loan.memberId]);
    await q(`DELETE FROM loan_types WHERE id = $1`, [loan.loanTypeId]);
    const preview = await previewFromBackup(backupId, 'loan', loan.id);

    const result = await restoreCompleted({ backupId, entityType: 'loan', entityId: loan.id });
    expect(result.inserted).toEqual({ unionMembers: 1, loanTypes: 1, loans: 1, repayments: 1 });
    expect(result.parentsRestored).toEqual(
      [
        { table: 'loanTypes', id: loan.loanTypeId },
        { table: 'unionMembers', id: loan.memberId },
      ].sort((a, b) => a.table.localeCompare(b.table)),
    );
    expect(await tableHashes(ctx.db.pool, DATA)).toEqual(before);
    expect(previewCounts(preview)).toMatchObject({ inserted: result.inserted, conflicts: [] });
  });

  it(
    'reports a conflict (same id, edited content), keeps the live row, and still inserts what is ' + 'missing',
    async () => {
      const [member] = await q<{ id: string }>(
        `SELECT id FROM union_members WHERE "unionId" = $1 ORDER BY id LIMIT 1`,
        [union.id],
      );
      const [repayment] = await q<{ id: string }>(
        `SELECT r.id FROM repayments r JOIN loans l ON l.id = r."loanId" JOIN union_members m ON m.id = ` +
          `l."unionMemberId" WHERE m."unionId" = $1 ORDER BY r.id LIMIT 1`,
        [union.id],
      );
      const [{ phone }] = (await q<{ phone: string | null }>(`SELECT phone FROM union_members WHERE id = $1`, [
        member!.id,
      ])) as [{ phone: string | null }];
      await q(`UPDATE union_members SET phone = '+234 800 000 0000' WHERE id = $1`, [member!.id]);
      await q(`DELETE FROM repayments WHERE id = $1`, [repayment!.id]);
      const edited = await tableHashes(ctx.db.pool, ['union_members']);
      const preview = await previewFromBackup(backupId, 'union', union.id);

      const result = await restoreCompleted({ backupId, entityType: 'union', entityId: union.id });
      expect(result.inserted).toEqual({ repayments: 1 });
      expect([result.conflictCount, result.conflicts]).toEqual([
        1,
        [{ table: 'unionMembers', id: member!.id, changedFields: ['phone'] }],
      ]);
      expect(result.skippedIdentical.unions).toBe(1);
      // The live row is kept as edited; the repayment is back as it was.
      expect(await tableHashes(ctx.db.pool, ['union_members'])).toEqual(edited);
      expect((await tableHashes(ctx.db.pool, ['repayments'])).repayments).toEqual(before.repayments);
      expect(previewCounts(preview)).toEqual({
        inserted: result.inserted,
        skippedIdentical: result.skippedIdentical,
        conflicts: [member!.id],
      });
      expect(preview.tables.find((t) => t.table === 'unionMembers')).toMatchObject({ changed: 1, removed: 0 });
      // Undo the edit by hand: then everything is as in the backup again.
      await q(`UPDATE union_members SET phone = $2 WHERE id = $1`, [member!.id, phone]);
      expect(await tableHashes(ctx.db.pool, DATA)).toEqual(before);
    },
  );

  it(
    'refuses, with readable problems, a row whose unique value another live row now holds; nothing ' + 'changes',
    async () => {
      await q(`DELETE FROM repayments WHERE "loanId" = $1`, [loan.id]);
      await q(`DELETE FROM loans WHERE id = $1`, [loan.id]);
      await q(`DELETE FROM loan_types WHERE id = $1`, [loan.loanTypeId]);
      await q(
        `INSERT INTO loan_types (id, name, "interestRate", "minAmount", "maxAmount", "durationMonths") VALUES ($1, ` +
          `'Entity test type', 0.07, 100, 900, 3)`,
        [randomUUID()],
      );
      const live = await tableHashes(ctx.db.pool, DATA);
      const answer = await entityRestore({ backupId, entityType: 'loan', entityId: loan.id });
      expect(answer.state).toBe('failed');
      expect(answer.error).toMatch(
        new RegExp(
          '^The entity cannot come back without overwriting live data; nothing was changed: ' +
            '1 problem: data\\.loanTypes\\.name: row ',
        ),
      );
      expect(answer.problems).toEqual([
        expect.objectContaining({
          field: 'name',
          message: expect.stringContaining(`row ${loan.loanTypeId} cannot come back`),
        }),
      ]);
      expect(await tableHashes(ctx.db.pool, DATA)).toEqual(live);
      expect((await getMaintenance(ctx.db.prisma)).active).toBe(false);
    },
  );

  it('refuses an entity the backup does not hold, and an unknown entity type', async () => {
    const live = await tableHashes(ctx.db.pool, DATA);
    const missing = randomUUID();
    const answer = await entityRestore({ backupId, entityType: 'unionMember', entityId: missing });
    expect(answer.state).toBe('failed');
    expect(answer.error).toBe(
      `ENTITY_NOT_IN_BACKUP: the backup holds no unionMember with id ${missing}; nothing was changed`,
    );
    expect(answer.problems).toHaveLength(1);
    // As a killed worker leaves it: a private schema nobody holds. The next run drops it, and its own.
    await q(`CREATE SCHEMA mp_entity_abandoned`);
    await expect(previewFromBackup(backupId, 'user', missing)).rejects.toMatchObject({ code: 'ENTITY_NOT_IN_BACKUP' });
    expect(await q(`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'mp_entity_')`)).toEqual([]);

    const ops = await ctx.db.prisma.operation.count({ where: { kind: 'entity_restore' } });
    const bad = await postEntity({ backupId, entityType: 'repayment', entityId: missing });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'UNSUPPORTED_ENTITY_TYPE']);
    expect(bad.json().error.message).toContain('supported: user, union, unionMember, loanType, loan');
    const noBackup = await postEntity({ backupId: randomUUID(), entityType: 'union', entityId: missing });
    expect([noBackup.statusCode, noBackup.json().error.code]).toEqual([404, 'BACKUP_NOT_FOUND']);
    expect(await ctx.db.prisma.operation.count({ where: { kind: 'entity_restore' } })).toBe(ops);
    expect(await tableHashes(ctx.db.pool, DATA)).toEqual(live);
  });

  it('reads an uploaded file the same way, and deletes the upload afterwards', async () => {
    const [record] = await q<{ filename: string }>(`SELECT filename FROM backup_records WHERE id = $1`, [backupId]);
    const file = await readFile(join(ctx.backupDir, record!.filename));
    // Left by the refusal above: the loan and its repayment gone, the loan type's name taken by another live row.
    await q(`DELETE FROM loan_types WHERE name = 'Entity test type' AND id <> $1`, [loan.loanTypeId]);
    const result = await restoreCompleted({
      upload: file,
      fields: { entityType: 'unionMember', entityId: loan.memberId },
    });
    expect(result).toMatchObject({
      inserted: { loanTypes: 1, loans: 1, repayments: 1 },
      skippedIdentical: { unionMembers: 1 },
      parentsRestored: [{ table: 'loanTypes', id: loan.loanTypeId }],
      backupId: null,
    });
    expect(await tableHashes(ctx.db.pool, DATA)).toEqual(before);
    expect((await readdir(ctx.uploadDir)).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});

describe('queue reconciliation', () => {
  it('leaves an entity restore that waits on the maintenance queue alone', async () => {
    // A separate prefix with no worker: the job stays waiting, as behind a long restore.
    const prefix = `er${randomUUID().slice(0, 8)}`;
    const producer = createProducer({ redisUrl: ctx.deps.config.REDIS_URL, prefix });
    try {
      await producer.queue('maintenance').waitUntilReady();
      const id = randomUUID();
      await ctx.db.prisma.operation.create({ data: { id, kind: 'entity_restore', jobId: id, input: {} } });
      await producer.enqueue('backup.entity_restore', { operationId: id }, { jobId: id });
      const report = await reconcileJobs(
        { ...deps, producer, config: { ...deps.config, RECONCILE_GRACE_MS: 0 } },
        new Date(Date.now() + 60_000),
      );
      expect(report.failed).not.toContain(id);
      expect((await ctx.db.prisma.operation.findUniqueOrThrow({ where: { id } })).status).toBe('queued');
      await ctx.db.prisma.operation.update({ where: { id }, data: { status: 'failed', error: 'test cleanup' } });
    } finally {
      await closeProducer(producer);
    }
  });
});
