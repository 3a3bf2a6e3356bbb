import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  dependencyClosure,
  isAppError,
  runBackup,
  runRestore,
  runRestorePreview,
  type AppError,
  type RestoreDeps,
} from '@mp/core';
import { seedDemoData } from '@mp/db';
import {
  createBackupRecord,
  createRestoreWorkspace,
  createTestDatabase,
  tableHashes,
  type TestDatabase,
} from '@mp/testing';

let db: TestDatabase;
let dir: string;
let deps: RestoreDeps;
/** The seeded state, taken once; each test starts from a restore of it. */
let seeded: string;

async function backup(): Promise<string> {
  const id = await createBackupRecord(db.prisma);
  await runBackup(deps, id, { attempt: 1, isLastAttempt: true });
  return id;
}

/** Records an operation of `kind` reading stored backup `backupId`, with `extra` input; returns its id. */
async function operation(kind: 'restore' | 'preview', backupId: string, extra: object = {}): Promise<string> {
  const id = randomUUID();
  const input = { source: { kind: 'backup', backupId }, skipSafetyBackup: true, allowNoAdmin: true, ...extra };
  await db.prisma.operation.create({ data: { id, kind, jobId: id, backupId, input } });
  return id;
}

const restore = async (backupId: string, extra: object = {}) => {
  const id = await operation('restore', backupId, extra);
  return runRestore(deps, id, { jobId: id });
};
const preview = async (backupId: string, extra: object = {}) =>
  runRestorePreview(deps, await operation('preview', backupId, extra));

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err;
}

const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.pool.query(sql, params)).rows as T[];
const schemas = async () =>
  (await q<{ n: string }>(`SELECT nspname AS n FROM pg_namespace ORDER BY 1`)).map((r) => r.n);

/** A new credit officer and a union of theirs, live. */
async function newUnionWithOfficer(): Promise<{ userId: string; unionId: string }> {
  const userId = randomUUID();
  const unionId = randomUUID();
  await q(
    `INSERT INTO users (id, username, email, "passwordHash", "firstName", "lastName", role) VALUES ($1, $2, $3, ` +
      `'scrypt$disabled$x', 'New', 'Officer', 'CREDIT_OFFICER')`,
    [userId, `officer-${userId.slice(0, 8)}`, `${userId.slice(0, 8)}@example.test`],
  );
  await q(`INSERT INTO unions (id, name, location, "creditOfficerId") VALUES ($1, $2, 'Nowhere', $3)`, [
    unionId,
    `Union ${unionId.slice(0, 8)}`,
    userId,
  ]);
  return { userId, unionId };
}

beforeAll(async () => {
  db = await createTestDatabase();
  ({ dir, deps: deps } = await createRestoreWorkspace(db, 'selective'));
  await seedDemoData(db, { scale: 1, seed: 11 });
  seeded = await backup();
});

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await restore(seeded);
});

describe('selective restore', () => {
  it(
    'replaces only the tables named: the others keep their content, and sessions stay when users are not ' + 'restored',
    async () => {
      const before = await tableHashes(db.pool);
      const [someUser] = await q<{ id: string }>(`SELECT id FROM users ORDER BY id LIMIT 1`);
      await q(
        `INSERT INTO sessions (id, "userId", "expiresAt") VALUES (gen_random_uuid(), $1, now() + interval '1 hour')`,
        [someUser!.id],
      );
      // Live changes after the backup: a loan type renamed, and a union renamed.
      await q(`UPDATE loan_types SET name = name || ' (renamed)' WHERE id = (SELECT min(id) FROM loan_types)`);
      await q(`UPDATE unions SET location = 'Moved' WHERE id = (SELECT min(id) FROM unions)`);
      const changed = await tableHashes(db.pool);
      expect(changed.loan_types).not.toEqual(before.loan_types);

      const result = await restore(seeded, { tables: ['loanTypes'] });
      expect(result).toMatchObject({
        restored: { loanTypes: before.loan_types!.rows },
        tables: ['loanTypes'],
        addedByDependencies: [],
        sessionsCleared: false,
      });
      expect(Object.keys(result.restored)).toEqual(['loanTypes']);
      const after = await tableHashes(db.pool);
      // The restored table is back to the file's content; every other table is exactly as it was live.
      expect(after.loan_types).toEqual(before.loan_types);
      for (const table of ['users', 'unions', 'union_members', 'loans', 'repayments', 'audit_logs', 'sessions']) {
        expect([table, after[table]]).toEqual([table, changed[table]]);
      }
      expect(after.unions).not.toEqual(before.unions);
      expect(after.sessions!.rows).toBe(1);
    },
  );

  it('refuses when live rows of other tables point at rows the file does not have (nothing changes)', async () => {
    const { unionId } = await newUnionWithOfficer();
    // Two live members move to the new union, which is not in the file: restoring unions would remove it.
    await q(`UPDATE union_members SET "unionId" = $1 WHERE id IN (SELECT id FROM union_members ORDER BY id LIMIT 2)`, [
      unionId,
    ]);
    const before = await tableHashes(db.pool);
    const err = await refusal(restore(seeded, { tables: ['unions'] }));
    expect(err.code).toBe('RESTORE_WOULD_BREAK_REFERENCES');
    expect(err.message).toMatch(
      new RegExp(
        '^The restore would break references between tables; nothing was changed: ' +
          '1 problem: unionMembers\\.unionId → unions: 2 rows of live unionMembers point at unions ' +
          'missing from the file',
      ),
    );
    // withDependencies adds parents, not the children that would lose theirs: the advice says what does help.
    expect(err.message).toContain(
      '. For live unionMembers that would point at nothing: restore unionMembers too (from the same file), or ' +
        'change or delete those live rows first',
    );
    expect(err.message).not.toContain('withDependencies');
    const problems = (err.details as { problems: { table: string; message: string }[] }).problems;
    expect(problems).toEqual([
      expect.objectContaining({
        table: 'unionMembers',
        field: 'unionId',
        message: expect.stringContaining(`e.g. ${unionId}`),
      }),
    ]);
    expect(await tableHashes(db.pool)).toEqual(before);
    expect((await schemas()).filter((s) => s.startsWith('mp_') && !s.startsWith('mp_restore_point_'))).toEqual([]);
  });

  it(
    'refuses when restored rows point at live rows that are missing, and withDependencies brings those ' + 'back',
    async () => {
      const { userId, unionId } = await newUnionWithOfficer();
      const withNewUnion = await backup();
      // Both deleted live afterwards: the file's union now points at a user missing live.
      await q(`DELETE FROM unions WHERE id = $1`, [unionId]);
      await q(`DELETE FROM users WHERE id = $1`, [userId]);
      const before = await tableHashes(db.pool);
      const err = await refusal(restore(withNewUnion, { tables: ['unions'] }));
      expect(err.code).toBe('RESTORE_WOULD_BREAK_REFERENCES');
      const problems = (err.details as { problems: { message: string }[] }).problems;
      expect(problems.map((p) => p.message)).toEqual([
        `unions.creditOfficerId → users: 1 row of unions in the file points at users missing live (users is not ` +
          `restored), e.g. ${userId}`,
      ]);
      expect(err.message).toMatch(
        /\. For rows of the file that need users: restore users too, or turn on withDependencies$/,
      );
      expect(await tableHashes(db.pool)).toEqual(before);

      const result = await restore(withNewUnion, { tables: ['unions'], withDependencies: true });
      expect(result).toMatchObject({
        tables: ['users', 'unions'],
        addedByDependencies: ['users'],
        sessionsCleared: true,
      });
      expect(await q(`SELECT id FROM unions WHERE id = $1`, [unionId])).toHaveLength(1);
      expect(await q(`SELECT id FROM users WHERE id = $1`, [userId])).toHaveLength(1);
      const after = await tableHashes(db.pool);
      for (const table of ['union_members', 'loan_types', 'loans', 'repayments'])
        expect([table, after[table]]).toEqual([table, before[table]]);
    },
  );

  it('derives the dependency closure from the live foreign keys', async () => {
    const client = await db.pool.connect();
    try {
      expect(await dependencyClosure(client, ['repayments'])).toEqual([
        'users',
        'unions',
        'unionMembers',
        'loanTypes',
        'loans',
        'repayments',
      ]);
      expect(await dependencyClosure(client, ['unionMembers'])).toEqual(['users', 'unions', 'unionMembers']);
      expect(await dependencyClosure(client, ['loanTypes'])).toEqual(['loanTypes']);
    } finally {
      client.release();
    }
  });

  it('refuses an unknown table key, naming the valid ones', async () => {
    const err = await refusal(restore(seeded, { tables: ['loanTypes', 'payments'] }));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.message).toBe(
      'Unknown table(s) "payments"; valid tables: users, unions, unionMembers, loanTypes, loans, repayments, ' +
        'auditLogs, sessions',
    );
  });
});

describe('restore preview', () => {
  it('counts exactly what a restore would add, remove and change, and touches nothing', async () => {
    const ids = (await q<{ id: string }>(`SELECT id FROM repayments ORDER BY id`)).map((r) => r.id);
    // A known mutation after the backup: 3 repayments changed, 2 deleted, 4 added; one loan type renamed.
    const updated = ids.slice(0, 3);
    const deleted = ids.slice(3, 5);
    await q(`UPDATE repayments SET notes = coalesce(notes, '') || ' edited' WHERE id = ANY($1)`, [updated]);
    await q(`DELETE FROM repayments WHERE id = ANY($1)`, [deleted]);
    await q(
      `INSERT INTO repayments (id, "loanId", amount, "paidAt", method, reference)
       SELECT gen_random_uuid(), "loanId", 1.00, now(), method, 'preview-' || g FROM (SELECT "loanId", method FROM
         repayments LIMIT 1) r, generate_series(1, 4) g`,
    );
    await q(`UPDATE loan_types SET name = name || ' (renamed)' WHERE id = (SELECT min(id) FROM loan_types)`);
    const [lt] = await q<{ id: string }>(`SELECT min(id) AS id FROM loan_types`);
    const live = await tableHashes(db.pool);
    const liveSchemas = await schemas();

    const result = await preview(seeded);
    expect(result.mode).toBe('full');
    const byTable = Object.fromEntries(result.tables.map((t) => [t.table, t]));
    expect(Object.keys(byTable)).toEqual(['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments']);
    expect(byTable.repayments).toEqual({
      table: 'repayments',
      rowsInFile: ids.length,
      rowsLive: ids.length - 2 + 4,
      added: 2,
      removed: 4,
      changed: 3,
      sampleChangedKeys: [...updated].sort(),
    });
    expect(byTable.loanTypes).toMatchObject({ added: 0, removed: 0, changed: 1, sampleChangedKeys: [lt!.id] });
    for (const t of ['users', 'unions', 'unionMembers', 'loans']) {
      expect(byTable[t]).toMatchObject({ added: 0, removed: 0, changed: 0, sampleChangedKeys: [] });
      expect(byTable[t]!.rowsInFile).toBe(byTable[t]!.rowsLive);
    }
    expect(result.brokenReferences).toEqual([]);
    expect(result.estimatedSeconds).toBeGreaterThan(0);
    expect(await tableHashes(db.pool)).toEqual(live);
    expect(await schemas()).toEqual(liveSchemas);
  });

  it('previews a selective restore: its tables, what the closure adds, and the references it would break', async () => {
    const { unionId } = await newUnionWithOfficer();
    await q(`UPDATE union_members SET "unionId" = $1 WHERE id IN (SELECT id FROM union_members ORDER BY id LIMIT 1)`, [
      unionId,
    ]);
    const live = await tableHashes(db.pool);
    const result = await preview(seeded, { tables: ['unions'] });
    expect(result).toMatchObject({ mode: 'selective', addedByDependencies: [] });
    expect(result.tables.map((t) => [t.table, t.added, t.removed, t.changed])).toEqual([['unions', 0, 1, 0]]);
    expect(result.brokenReferences).toEqual([
      `unionMembers.unionId → unions: 1 row of live unionMembers points at unions missing from the file (they ` +
        `would ` +
        `vanish), e.g. ${unionId}`,
    ]);
    const closure = await preview(seeded, { tables: ['unionMembers'], withDependencies: true });
    expect(closure.addedByDependencies).toEqual(['users', 'unions']);
    expect(closure.tables.map((t) => t.table)).toEqual(['users', 'unions', 'unionMembers']);
    expect(await tableHashes(db.pool)).toEqual(live);
    expect((await schemas()).filter((s) => s.startsWith('mp_') && !s.startsWith('mp_restore_point_'))).toEqual([]);
  });

  it('drops its schema when the preview fails', async () => {
    const err = await refusal(preview(seeded, { tables: ['auditLogs'] }));
    expect(err.code).toBe('INVALID_BACKUP_FILE');
    expect(err.message).toContain('data.auditLogs: this table was asked to be restored, but the file does not hold it');
    expect((await schemas()).filter((s) => s.startsWith('mp_') && !s.startsWith('mp_restore_point_'))).toEqual([]);
  });
});
