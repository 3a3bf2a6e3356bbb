import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LIVE_TABLES_LOCK, exportRestorePoint, runBackup, runRestore, type RestoreDeps } from '@mp/core';
import { seedDemoData } from '@mp/db';
import { createLogger } from '@mp/logger';
import {
  createBackupRecord,
  createRestoreWorkspace,
  createTestDatabase,
  recordRestore,
  tableHashes,
  type TestDatabase,
} from '@mp/testing';

let db: TestDatabase;
let dir: string;
let deps: RestoreDeps;
const CORE = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments'];

async function backup(
  options: { includeAuditLogs?: boolean; includeSessions?: boolean } = {},
  threshold = 1024 * 1024,
) {
  const id = await createBackupRecord(db.prisma, {
    options: { includeAuditLogs: false, includeSessions: false, ...options },
  });
  const result = await runBackup({ ...deps, settings: { gzipLevel: 1, compressThresholdBytes: threshold } }, id, {
    attempt: 1,
    isLastAttempt: true,
  });
  const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
  return { id, result, record, file: path.join(dir, 'backups', record.filename) };
}

async function restoreFrom(source: { backupId: string } | { text: string | Buffer }, skipSafetyBackup = true) {
  const id = await restoreOperation(source, skipSafetyBackup);
  return runRestore(deps, id, { jobId: id });
}

/** Records a restore operation for `source` (an upload is written to the upload folder); returns its id. */
function restoreOperation(source: { backupId: string } | { text: string | Buffer }, skipSafetyBackup = true) {
  const from = 'backupId' in source ? source : { bytes: source.text, uploadDir: path.join(dir, 'uploads') };
  return recordRestore(db, from, { skipSafetyBackup });
}

function docOf(buf: Buffer): { metadata: Record<string, unknown>; data: Record<string, Record<string, unknown>[]> } {
  const text = buf[0] === 0x1f ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return JSON.parse(text);
}

// pg 8 warns (once per process) when a query is sent on a client still running one; pg 9 will throw.
const overlappingQueries: string[] = [];
const onWarning = (warning: Error) => {
  if (warning.message.includes('already executing a query')) overlappingQueries.push(warning.stack ?? warning.message);
};

beforeAll(async () => {
  process.on('warning', onWarning);
  db = await createTestDatabase();
  ({ dir, deps: deps } = await createRestoreWorkspace(db, 'restore'));
  await seedDemoData(db, { scale: 1, seed: 7 });
});

afterAll(async () => {
  process.off('warning', onWarning);
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('export', () => {
  it('writes the seed format with counts that match the database', async () => {
    const { record, file } = await backup({ includeAuditLogs: true });
    const doc = docOf(await readFile(file));
    expect(doc.metadata).toMatchObject({
      version: '1.1',
      app: 'millennium-potters',
      options: { includeAuditLogs: true, includeSessions: false },
    });
    expect(doc.metadata.schemaVersion).toMatch(/^\d{14}_/);
    const hashes = await tableHashes(db.pool);
    expect(doc.data.users).toHaveLength(hashes.users!.rows);
    expect(doc.data.repayments).toHaveLength(hashes.repayments!.rows);
    expect(doc.data.auditLogs).toHaveLength(hashes.audit_logs!.rows);
    expect(doc.data.sessions).toBeUndefined();
    expect(record.recordCounts).toEqual(doc.metadata.recordCounts);
    // Decimals and big integers are strings; dates ISO strings; JSON columns JSON.
    const loan = doc.data.loans![0]!;
    expect(typeof loan.principal).toBe('string');
    expect(typeof doc.data.auditLogs![0]!.id).toBe('string');
    expect(String(loan.createdAt)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('stays plain JSON below the threshold and gzips above it', async () => {
    const small = await backup({}, 50 * 1024 * 1024);
    expect(small.record.filename).toMatch(/\.json$/);
    expect(small.record.compressed).toBe(false);
    const big = await backup({}, 1024);
    expect(big.record.filename).toMatch(/\.json\.gz$/);
    expect(big.record.compressed).toBe(true);
    const raw = await readFile(big.file);
    expect(raw[0]).toBe(0x1f);
    expect(docOf(raw).metadata.recordCounts).toEqual(docOf(await readFile(small.file)).metadata.recordCounts);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(raw).digest('hex')).toBe(big.record.checksum);
    expect(Number(big.record.fileSize)).toBe(raw.length);
  });
});

describe('restore', () => {
  let snapshot: Awaited<ReturnType<typeof tableHashes>>;
  let backupId: string;

  beforeAll(async () => {
    const made = await backup({ includeAuditLogs: false }, 1024);
    backupId = made.id;
    snapshot = await tableHashes(db.pool);
  });

  beforeEach(async () => {
    // Put the database back to the snapshot before each case.
    await restoreFrom({ backupId });
  });

  it('brings every table back row for row after changes and deletions', async () => {
    await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments LIMIT 10)`);
    await db.pool.query(`UPDATE loans SET notes = 'changed', principal = principal + 1`);
    await db.pool.query(
      `INSERT INTO loan_types (id, name, "interestRate", "minAmount", "maxAmount", "durationMonths") VALUES ` +
        `(gen_random_uuid(), 'Extra', 0.1, 1, 2, 3)`,
    );
    const auditBefore = (await tableHashes(db.pool, ['audit_logs'])).audit_logs;
    expect((await tableHashes(db.pool, CORE)).loans).not.toEqual(snapshot.loans);

    const result = await restoreFrom({ backupId });
    const after = await tableHashes(db.pool);
    for (const t of CORE) expect(after[t], t).toEqual(snapshot[t]);
    // Not in the file: kept. Sessions: always cleared.
    expect(after.audit_logs).toEqual(auditBefore);
    expect(after.sessions!.rows).toBe(0);
    expect(result.restored.users).toBe(snapshot.users!.rows);
  });

  it(
    'brings awkward text and JSON values back byte for byte, through the typed reading of a stored ' + 'backup',
    async () => {
      const awkward = 'tab\there, "quoted", back\\slash \\N \u0001\u001f é 😀 \r\n end';
      const union = (await db.pool.query<{ id: string }>('SELECT id FROM unions ORDER BY id LIMIT 1')).rows[0]!.id;
      await db.pool.query('UPDATE unions SET address = $1 WHERE id = $2', [awkward, union]);
      await db.pool.query(
        `INSERT INTO audit_logs (action, "entityType", "entityId", before, after) VALUES
         ('TEST', 'Test', $1, $2::jsonb,
           '{"n": 10.250, "big": 12345678901234567890, "a": [true, null, {"k": "\\\\u0000 is text here"}]}'),
         ('TEST', 'Test', NULL, '"just a string"', NULL)`,
        [awkward, JSON.stringify({ s: awkward, nested: { t: ['\t', '\\', '"'] } })],
      );
      const made = await backup({ includeAuditLogs: true, includeSessions: true }, 1024);
      const expected = await tableHashes(db.pool);
      await db.pool.query(`UPDATE unions SET address = 'changed'`);
      await db.pool.query(`DELETE FROM audit_logs WHERE action = 'TEST'`);

      const lines: string[] = [];
      const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
      await runRestore({ ...deps, logger }, await restoreOperation({ backupId: made.id }), { jobId: randomUUID() });
      const after = await tableHashes(db.pool);
      for (const t of [...CORE, 'audit_logs']) expect(after[t], t).toEqual(expected[t]);
      const read = (await db.pool.query<{ address: string }>('SELECT address FROM unions WHERE id = $1', [union]))
        .rows[0]!.address;
      expect(read).toBe(awkward);
      // Every table of a stored backup of ours went straight into typed tables.
      const staged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'restore: table staged');
      expect(staged.length).toBeGreaterThanOrEqual(7);
      expect(staged.every((l) => l.typed === true)).toBe(true);
    },
  );

  it('reads an upload of the same file the checked way, with the same result', async () => {
    const made = await backup({ includeAuditLogs: true }, 1024);
    const expected = await tableHashes(db.pool, [...CORE, 'audit_logs']);
    await db.pool.query(`UPDATE loans SET notes = 'changed'`);
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    await runRestore({ ...deps, logger }, await restoreOperation({ text: await readFile(made.file) }), {
      jobId: randomUUID(),
    });
    expect(await tableHashes(db.pool, [...CORE, 'audit_logs'])).toEqual(expected);
    const staged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'restore: table staged');
    expect(staged.length).toBe(7);
    expect(staged.every((l) => l.typed === false)).toBe(true);
  });

  it('keeps the schema as it was: keys, indexes, defaults, sequences', async () => {
    const fingerprint = async () =>
      (
        await db.pool.query<{ f: string }>(`
          SELECT string_agg(x, E'\n' ORDER BY x) AS f FROM (
            SELECT format('con %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS x FROM
              pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL SELECT format('idx %s', pg_get_indexdef(indexrelid)) FROM pg_index WHERE
              indrelid::regclass::text NOT LIKE 'pg_%'
              AND indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
            UNION ALL SELECT format('def %s.%s %s', c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid)) FROM
              pg_attrdef d
              JOIN pg_class c ON c.oid = d.adrelid JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum =
                d.adnum WHERE c.relnamespace = 'public'::regnamespace
            UNION ALL SELECT format('seq %s', pg_get_serial_sequence('public.audit_logs', 'id'))
            UNION ALL SELECT format('ns %s', nspname) FROM pg_namespace WHERE nspname LIKE 'mp_restore%' AND NOT
              starts_with(nspname, 'mp_restore_point_')) s`)
      ).rows[0]!.f;
    const before = await fingerprint();
    await restoreFrom({ backupId });
    expect(await fingerprint()).toBe(before);
    const maxId = (await db.pool.query(`SELECT max(id)::bigint AS m FROM audit_logs`)).rows[0].m;
    const inserted = await db.pool.query(
      `INSERT INTO audit_logs (action, "entityType") VALUES ('TEST', 'Test') RETURNING id`,
    );
    expect(BigInt(inserted.rows[0].id)).toBeGreaterThan(BigInt(maxId ?? 0));
  });

  it('reports the problems of several tables at once', async () => {
    const made = await backup({}, 50 * 1024 * 1024);
    const doc = docOf(await readFile(made.file));
    doc.data.unions![1]!.name = null;
    doc.data.repayments![4]!.amount = 'ten';
    const err = await restoreFrom({ text: JSON.stringify(doc) }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'INVALID_BACKUP_FILE',
      message: expect.stringMatching(/^[^\n]+: 2 problems, first: data\.unions\[1\]\.name: required/),
    });
    const messages = (err as { details: { problems: { message: string }[] } }).details.problems.map((p) => p.message);
    expect(messages).toEqual([
      expect.stringMatching(/^data\.unions\[1\]\.name: required/),
      expect.stringMatching(/^data\.repayments\[4\]\.amount: "ten"/),
    ]);
  });

  it('restores a hand-written seed-format file, filling defaults', async () => {
    const userId = randomUUID();
    const officer = randomUUID();
    const file = {
      metadata: { version: '1.0', timestamp: '2026-01-01T00:00:00Z', recordCounts: { users: 2 } },
      data: {
        users: [
          {
            id: userId,
            username: 'boss',
            email: 'boss@example.com',
            passwordHash: 'x',
            firstName: 'Adéwálé',
            lastName: 'O',
            role: 'ADMIN',
          },
          {
            id: officer,
            username: 'co',
            email: 'co@example.com',
            passwordHash: 'x',
            firstName: 'C',
            lastName: 'O',
            role: 'CREDIT_OFFICER',
            supervisorId: userId,
          },
        ],
        unions: [{ id: randomUUID(), name: 'Ikeja Potters', location: 'Lagos', creditOfficerId: officer }],
        unionMembers: [],
        loanTypes: [
          {
            id: randomUUID(),
            name: 'Starter',
            interestRate: 0.05,
            minAmount: '1000.00',
            maxAmount: 50000,
            durationMonths: 6,
          },
        ],
        loans: [],
        repayments: [],
      },
    };
    await restoreFrom({ text: JSON.stringify(file, null, 2) });
    const users = await db.pool.query(
      `SELECT username, "isActive", "createdAt" IS NOT NULL AS dated FROM users ORDER BY username`,
    );
    expect(users.rows).toEqual([
      { username: 'boss', isActive: true, dated: true },
      { username: 'co', isActive: true, dated: true },
    ]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM loans')).rows[0].n).toBe(0);
  });

  it('restores an uploaded gzip file', async () => {
    const made = await backup({}, 1024);
    await db.pool.query(`DELETE FROM repayments`);
    await restoreFrom({ text: await readFile(made.file) });
    expect((await tableHashes(db.pool, CORE)).repayments).toEqual(snapshot.repayments);
  });

  describe('refuses a bad file and changes nothing', () => {
    let good: ReturnType<typeof docOf>;
    beforeAll(async () => {
      const made = await backup({}, 50 * 1024 * 1024);
      good = docOf(await readFile(made.file));
    });
    const mutate = (fn: (d: ReturnType<typeof docOf>) => void) => {
      const copy = structuredClone(good);
      fn(copy);
      return JSON.stringify(copy);
    };

    it.each<[string, () => string | Buffer, RegExp]>([
      ['not JSON at all', () => 'hello', /must start with/],
      ['truncated', () => JSON.stringify(good).slice(0, 2000), /ends before/],
      ['a newer format', () => mutate((d) => (d.metadata.version = '9.0')), /newer than this service/],
      ['a newer schema', () => mutate((d) => (d.metadata.schemaVersion = '29991231000000_future')), /schema version/],
      ['invalid JSON in a row', () => JSON.stringify(good).replace('{"id"', '{id'), /data\.users\[0\]: not valid JSON/],
      [
        'an unknown field',
        () => mutate((d) => (d.data.loans![3]!.colour = 'red')),
        /data\.loans\[3\]\.colour: unknown field/,
      ],
      [
        'a wrong type',
        () => mutate((d) => (d.data.loans![2]!.principal = 'lots')),
        /data\.loans\[2\]\.principal: "lots" is not a valid numeric/,
      ],
      ['a bad enum value', () => mutate((d) => (d.data.users![1]!.role = 'KING')), /data\.users\[1\]\.role: "KING"/],
      [
        'a missing required field',
        () => mutate((d) => delete d.data.unions![0]!.name),
        /data\.unions\[0\]\.name: required field/,
      ],
      [
        'a duplicate id',
        () =>
          mutate((d) => {
            d.data.loanTypes!.push({ ...d.data.loanTypes![0]!, name: 'Other' });
            (d.metadata.recordCounts as Record<string, number>).loanTypes! += 1;
          }),
        /data\.loanTypes\[\d+\]\.id: duplicate id/,
      ],
      [
        'a reference to nothing',
        () => mutate((d) => (d.data.loans![5]!.unionMemberId = randomUUID())),
        /data\.loans\[5\]\.unionMemberId: refers to unionMembers/,
      ],
      ['counts that do not match', () => mutate((d) => d.data.repayments!.pop()), /metadata.recordCounts says/],
      ['a missing table', () => mutate((d) => delete d.data.loans), /data\.loans: this table is missing/],
      ['an unknown table', () => mutate((d) => (d.data.widgets = [])), /unknown table "data\.widgets"/],
      [
        'gzip that does not decompress',
        () => Buffer.concat([gzipSync(JSON.stringify(good)).subarray(0, 200)]),
        /gzip|ends before/,
      ],
    ])('%s', async (_name, make, message) => {
      const before = await tableHashes(db.pool);
      await db.pool.query(
        `INSERT INTO sessions (id, "userId", "expiresAt") SELECT gen_random_uuid(), id, now() + interval '1 day' ` +
          `FROM users LIMIT 1`,
      );
      const withSession = await tableHashes(db.pool);
      await expect(restoreFrom({ text: make() })).rejects.toThrow(message);
      expect(await tableHashes(db.pool)).toEqual(withSession);
      expect(withSession.sessions!.rows).toBe(before.sessions!.rows + 1);
      const maintenance = await db.prisma.maintenanceState.findUnique({ where: { id: 'global' } });
      expect(maintenance?.active ?? false).toBe(false);
    });
  });

  it('refuses a stored backup whose file no longer matches its checksum', async () => {
    const made = await backup({}, 50 * 1024 * 1024);
    const text = await readFile(made.file, 'utf8');
    await writeFile(made.file, text.replace('"firstName":"', '"firstName":"X'));
    const before = await tableHashes(db.pool);
    await expect(restoreFrom({ backupId: made.id })).rejects.toThrow(/checksum/);
    expect(await tableHashes(db.pool)).toEqual(before);
  });

  it('calls a stored file damaged when a value no longer parses, and changes nothing', async () => {
    const made = await backup({}, 50 * 1024 * 1024);
    const text = await readFile(made.file, 'utf8');
    await writeFile(made.file, text.replace(/"principal":"/, '"principal":"x'));
    const before = await tableHashes(db.pool);
    await expect(restoreFrom({ backupId: made.id })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(await tableHashes(db.pool)).toEqual(before);
    const leftovers = await db.pool.query(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp_restore%' AND NOT starts_with(nspname, ` +
        `'mp_restore_point_')`,
    );
    expect(leftovers.rows).toEqual([]);
  });

  describe('loads big tables over two COPY connections', () => {
    /** Debug log lines of a restore of `backupId` with every typed table split over two streams. */
    async function splitRestore(backupId: string) {
      const lines: string[] = [];
      const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
      const outcome = await runRestore({ ...deps, logger, splitCopyMinRows: 1 }, await restoreOperation({ backupId }), {
        jobId: randomUUID(),
      }).catch((e: unknown) => e);
      const staged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'restore: table staged');
      return { outcome, staged };
    }

    it('with the same rows as one connection', async () => {
      const made = await backup({ includeAuditLogs: true, includeSessions: true }, 1024);
      const expected = await tableHashes(db.pool);
      await db.pool.query(`UPDATE loans SET notes = 'changed'`);
      await db.pool.query(`DELETE FROM repayments WHERE id IN (SELECT id FROM repayments LIMIT 10)`);
      const { outcome, staged } = await splitRestore(made.id);
      expect(outcome).not.toBeInstanceOf(Error);
      expect(staged.find((l) => l.table === 'repayments')).toMatchObject({ typed: true, copies: 2 });
      const after = await tableHashes(db.pool);
      for (const t of [...CORE, 'audit_logs']) expect(after[t], t).toEqual(expected[t]);
    });

    it('naming the row of the file that COPY refused on either connection, and changing nothing', async () => {
      const made = await backup({}, 50 * 1024 * 1024);
      const lines = (await readFile(made.file, 'utf8')).split('\n');
      const start = lines.indexOf('"repayments":[') + 1;
      let end = start;
      while (!lines[end + 1]!.startsWith(']')) end++;
      // The last row: with two streams it is rarely on the line of its table's row number.
      const last = JSON.parse(lines[end]!.slice(1));
      last.amount = 'ten';
      lines[end] = `,${JSON.stringify(last)}`;
      const text = lines.join('\n');
      const { createHash } = await import('node:crypto');
      await writeFile(made.file, text);
      await db.prisma.backupRecord.update({
        where: { id: made.id },
        data: { checksum: createHash('sha256').update(text).digest('hex'), fileSize: BigInt(Buffer.byteLength(text)) },
      });
      const before = await tableHashes(db.pool);
      const { outcome } = await splitRestore(made.id);
      expect(outcome).toMatchObject({ code: 'INVALID_BACKUP_FILE' });
      expect((outcome as Error).message).toMatch(
        new RegExp(`data\\.repayments\\[${end - start}\\]\\.amount: the value does not fit the column`),
      );
      expect(await tableHashes(db.pool)).toEqual(before);
    });
  });

  describe(
    'refuses a stored backup of ours whose checksum matches but whose rows are wrong (read typed), and ' +
      'changes nothing',
    () => {
      /**
       * Rewrites the rows of `table` in a stored backup's file and records the new checksum, as if it had been written
       * that way.
       */
      async function storedWith(edit: (rows: Record<string, unknown>[]) => void, table: string) {
        const made = await backup({}, 50 * 1024 * 1024);
        const lines = (await readFile(made.file, 'utf8')).split('\n');
        const at = lines.indexOf(`"${table}":[`) + 1;
        const rows = [JSON.parse(lines[at]!), JSON.parse(lines[at + 1]!.slice(1))];
        edit(rows);
        lines[at] = JSON.stringify(rows[0]);
        lines[at + 1] = `,${JSON.stringify(rows[1])}`;
        const text = lines.join('\n');
        const { createHash } = await import('node:crypto');
        await writeFile(made.file, text);
        await db.prisma.backupRecord.update({
          where: { id: made.id },
          data: {
            checksum: createHash('sha256').update(text).digest('hex'),
            fileSize: BigInt(Buffer.byteLength(text)),
          },
        });
        return made.id;
      }

      it.each([
        [
          'a value that does not fit its column (COPY refuses it)',
          'loans',
          (r: Record<string, unknown>[]) => (r[1]!.principal = 'ten'),
          /data\.loans\[1\]\.principal: the value does not fit the column \(invalid input syntax for type numeric/,
        ],
        [
          'a field that is not the column in its place',
          'loans',
          (r: Record<string, unknown>[]) =>
            (r[0] = Object.fromEntries(
              Object.entries(r[0]!).map(([k, v]) => [k === 'principal' ? 'principle' : k, v]),
            )),
          /data\.loans\[0\]\.principal: field "principle" found where "principal" was expected/,
        ],
        [
          'a duplicate id',
          'loans',
          (r: Record<string, unknown>[]) => (r[1]!.id = r[0]!.id),
          /data\.loans\[1\]\.id: duplicate id "[^"]+" \(also in row 0\)/,
        ],
        [
          'a reference to nothing',
          'repayments',
          (r: Record<string, unknown>[]) => (r[1]!.loanId = randomUUID()),
          /data\.repayments\[1\]\.loanId: refers to loans "[^"]+", which is not in the file/,
        ],
      ])('%s', async (_name, table, edit, message) => {
        const backupId = await storedWith(edit, table);
        const before = await tableHashes(db.pool);
        const lines: string[] = [];
        const logger = createLogger({
          level: 'debug',
          destination: { write: (line: string) => void lines.push(line) },
        });
        const err = await runRestore({ ...deps, logger }, await restoreOperation({ backupId }), {
          jobId: randomUUID(),
        }).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(message);
        expect(err).toMatchObject({ code: 'INVALID_BACKUP_FILE' });
        expect(await tableHashes(db.pool)).toEqual(before);
        const leftovers = await db.pool.query(
          `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp_restore%' AND NOT starts_with(nspname, ` +
            `'mp_restore_point_')`,
        );
        expect(leftovers.rows).toEqual([]);
        // It was the typed reading that found it.
        const staged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'restore: table staged');
        expect(staged.length).toBeGreaterThan(0);
        expect(staged.every((l) => l.typed === true)).toBe(true);
      });
    },
  );

  it('runs one restore at a time across workers: refused while another holds the run lock', async () => {
    // Another worker's restore, as the database sees it: a session holding the run lock.
    const other = await db.pool.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [LIVE_TABLES_LOCK]);
      await db.pool.query(`UPDATE loans SET notes = 'while locked'`);
      await expect(restoreFrom({ backupId })).rejects.toThrow(/Another restore or reset is running/);
      expect(
        (await db.pool.query(`SELECT count(*)::int AS n FROM loans WHERE notes = 'while locked'`)).rows[0].n,
      ).toBeGreaterThan(0);
    } finally {
      await other.query('SELECT pg_advisory_unlock($1)', [LIVE_TABLES_LOCK]);
      other.release();
    }
    await restoreFrom({ backupId });
    expect((await tableHashes(db.pool, CORE)).loans).toEqual(snapshot.loans);
  });

  it(
    'keeps the replaced tables as its restore point; the pre-restore file is written from it afterwards, unless ' +
      'told not to',
    async () => {
      await db.pool.query(`UPDATE loans SET notes = 'before this restore'`);
      const before = await tableHashes(db.pool, CORE);
      const id = await restoreOperation({ backupId }, false);
      const result = await runRestore(deps, id, { jobId: id });
      // The restore no longer waits for a safety export: it completes first, the file follows.
      expect(result).toMatchObject({
        safetyBackupId: null,
        safetyBackup: 'pending',
        restorePoint: { schema: expect.stringMatching(/^mp_restore_point_/) },
      });
      const exported = await exportRestorePoint(deps, id, { attempt: 1, isLastAttempt: true });
      if (!('backupId' in exported)) throw new Error(`not exported: ${exported.skipped}`);
      const safety = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: exported.backupId } });
      expect(safety).toMatchObject({ type: 'pre_restore', status: 'completed' });
      expect((safety.recordCounts as Record<string, number>).loans).toBe(before.loans!.rows);
      const doc = docOf(await readFile(path.join(dir, 'backups', safety.filename)));
      expect(doc.data.loans!.every((l) => l.notes === 'before this restore')).toBe(true);
      expect(
        ((await db.prisma.operation.findUniqueOrThrow({ where: { id } })).result as { safetyBackupId: string })
          .safetyBackupId,
      ).toBe(safety.id);

      const skipped = await restoreOperation({ backupId }, true);
      expect(await runRestore(deps, skipped, { jobId: skipped })).toMatchObject({ safetyBackup: 'skipped' });
      expect(await exportRestorePoint(deps, skipped, { attempt: 1, isLastAttempt: true })).toEqual({
        skipped: 'the restore asked for no safety backup',
      });
    },
  );

  // Last: after every restore above (and its own, from beforeEach), the swap's catalog reads among them.
  it('sent no query on a connection still running one, in any restore', () => {
    expect(overlappingQueries).toEqual([]);
  });
});
