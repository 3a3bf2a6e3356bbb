import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdmin } from '@mp/core';
import { tableHashes, waitFor, type ServiceProcess, type TestDatabase } from '@mp/testing';
import { client, login, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// Every kind of refusal of the checked restore path (an upload, or a `{ backupData }` body), read back
// as the user reads it: GET /api/backup/jobs/:id, through the real API and worker processes, run with
// NODE_ENV=production as the Docker image runs them.

type Doc = { metadata: Record<string, any>; data: Record<string, Record<string, any>[]> };
interface Problem {
  table?: string;
  row?: number;
  field?: string;
  problem: string;
  message: string;
}
interface JobAnswer {
  state: string;
  error: string | null;
  problems: Problem[] | null;
  result: unknown;
}

let stack: E2eStack;
let db: TestDatabase;
let api: ServiceProcess;
let token: string;
let good: Doc;
let before: Awaited<ReturnType<typeof tableHashes>>;
let backupRecords: number;

const SUMMARY = 'The backup file is not valid; nothing was changed';
const MISSING_MEMBER = '00000000-0000-4000-8000-00000000dead';
const NO_ADMIN = 'no active ADMIN with a usable password; after this restore nobody could log in';

const mutate = (fn: (d: Doc) => void): Doc => {
  const copy = structuredClone(good);
  fn(copy);
  return copy;
};

/** Sends `file` the way `via` says: a multipart upload (bytes as given) or a JSON `{ backupData }` body. */
async function requestRestore(via: 'upload' | 'body', file: Doc | Buffer, options: Record<string, boolean> = {}) {
  if (via === 'body')
    return client(api, token).json<{ jobId: string }>('POST', '/api/backup/restore', { backupData: file, ...options });
  const form = new FormData();
  // Multipart fields go before the file, as strings.
  for (const [name, value] of Object.entries(options)) form.append(name, String(value));
  form.append('file', new Blob([Buffer.isBuffer(file) ? file : JSON.stringify(file)]), 'backup.json');
  const res = await client(api, token).raw('/api/backup/restore', { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as { data: { jobId: string } } };
}

/** The refused job as the user reads it, after checking what must hold after every refusal. */
async function refused(via: 'upload' | 'body', file: Doc | Buffer): Promise<JobAnswer> {
  const res = await requestRestore(via, file);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const jobId = res.body.data.jobId;
  const done = (await waitForJob(api, token, jobId)) as unknown as JobAnswer;
  expect(done.state).toBe('failed');
  expect(done.result).toBeNull();
  // One line, and the same on the Operation row, which ends `failed` with the problems stored.
  expect(done.error).not.toMatch(/\n/);
  const op = await db.prisma.operation.findUniqueOrThrow({ where: { id: jobId } });
  expect(op).toMatchObject({ status: 'failed', error: done.error, result: { problems: done.problems } });
  // Nothing changed: domain tables, maintenance, and no safety backup was even taken.
  expect(await tableHashes(db.pool)).toEqual(before);
  const status = await client(api, token).json<{ maintenance: { active: boolean } }>('GET', '/api/system/status');
  expect(status.body.data.maintenance.active).toBe(false);
  expect(await db.prisma.backupRecord.count()).toBe(backupRecords);
  return done;
}

beforeAll(async () => {
  stack = await startE2eStack({ scale: 1, seed: 11 });
  ({ db, api } = stack);
  token = await stack.login();
  const created = await client(api, token).json<{ backupId: string; jobId: string }>('POST', '/api/backup/create', {});
  expect((await waitForJob(api, token, created.body.data.jobId)).state).toBe('completed');
  const file = Buffer.from(
    await (await client(api, token).raw(`/api/backup/download/${created.body.data.backupId}`)).arrayBuffer(),
  );
  good = JSON.parse((file[0] === 0x1f ? gunzipSync(file) : file).toString('utf8')) as Doc;
  before = await tableHashes(db.pool);
  backupRecords = await db.prisma.backupRecord.count();
}, 90_000);

afterAll(() => stack?.stop());

describe('a refused restore reports its problems on the job and the Operation row', () => {
  const p = (problem: Omit<Problem, 'message'>, message: string): Problem => ({ ...problem, message });

  it.each(['upload', 'body'] as const)('a table missing (%s)', async (via) => {
    const loans = good.data.loans!.length;
    const done = await refused(
      via,
      mutate((d) => delete d.data.loans),
    );
    expect(done.error).toBe(`${SUMMARY}: 2 problems, first: data.loans: this table is missing from the file`);
    expect(done.problems).toEqual([
      p(
        { table: 'loans', problem: 'this table is missing from the file' },
        'data.loans: this table is missing from the file',
      ),
      p(
        { table: 'loans', problem: `metadata.recordCounts says ${loans} rows, the file has 0` },
        `data.loans: metadata.recordCounts says ${loans} rows, the file has 0`,
      ),
    ]);
  });

  it.each(['body'] as const)('an unknown table (%s)', async (via) => {
    const done = await refused(
      via,
      mutate((d) => (d.data.widgets = [{ id: 1 }])),
    );
    expect(done.error).toBe(`${SUMMARY}: 1 problem: file: unknown table "data.widgets"`);
    expect(done.problems).toEqual([
      { problem: 'unknown table "data.widgets"', message: 'file: unknown table "data.widgets"' },
    ]);
  });

  it.each(['upload'] as const)('a bad enum value (%s)', async (via) => {
    const done = await refused(
      via,
      mutate((d) => (d.data.users![1]!.role = 'KING')),
    );
    const problem = '"KING" is not a valid "Role"';
    expect(done.error).toBe(`${SUMMARY}: 1 problem: data.users[1].role: ${problem}`);
    expect(done.problems).toEqual([
      p({ table: 'users', row: 1, field: 'role', problem }, `data.users[1].role: ${problem}`),
    ]);
  });

  it.each(['body'] as const)('a numeric overflow (%s)', async (via) => {
    const done = await refused(
      via,
      mutate((d) => (d.data.loans![2]!.principal = '123456789012345678.00')),
    );
    const problem = '"123456789012345678.00" is not a valid numeric(14,2)';
    expect(done.error).toBe(`${SUMMARY}: 1 problem: data.loans[2].principal: ${problem}`);
    expect(done.problems).toEqual([
      p({ table: 'loans', row: 2, field: 'principal', problem }, `data.loans[2].principal: ${problem}`),
    ]);
  });

  it.each(['upload', 'body'] as const)('a NUL byte in a string (%s)', async (via) => {
    const done = await refused(
      via,
      mutate((d) => (d.data.unions![0]!.name = 'Ikeja\u0000Potters')),
    );
    const problem = 'holds a NUL character (\\u0000), which PostgreSQL cannot store';
    expect(done.error).toBe(`${SUMMARY}: 1 problem: data.unions[0].name: ${problem}`);
    expect(done.problems).toEqual([
      p({ table: 'unions', row: 0, field: 'name', problem }, `data.unions[0].name: ${problem}`),
    ]);
  });

  it('a gzip upload that does not decompress', async () => {
    // A gzip header, then bytes that are not deflate data.
    const broken = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]),
      Buffer.from('this is not deflate data at all'),
    ]);
    const done = await refused('upload', broken);
    expect(done.error).toBe(`${SUMMARY}: 1 problem: file: the file looks like gzip but does not decompress`);
    expect(done.problems).toEqual([
      {
        problem: 'the file looks like gzip but does not decompress',
        message: 'file: the file looks like gzip but does not decompress',
      },
    ]);
  });

  it.each(['upload'] as const)('a duplicate id (%s)', async (via) => {
    const copied = good.data.loanTypes![0]!;
    const row = good.data.loanTypes!.length;
    const done = await refused(
      via,
      mutate((d) => {
        d.data.loanTypes!.push({ ...copied, name: 'Another name' });
        d.metadata.recordCounts.loanTypes += 1;
      }),
    );
    const problem = `duplicate id "${copied.id}" (also in row 0)`;
    expect(done.error).toBe(`${SUMMARY}: 1 problem: data.loanTypes[${row}].id: ${problem}`);
    expect(done.problems).toEqual([
      p({ table: 'loanTypes', row, field: 'id', problem }, `data.loanTypes[${row}].id: ${problem}`),
    ]);
  });

  it.each(['body'] as const)('a dangling reference (%s)', async (via) => {
    const done = await refused(
      via,
      mutate((d) => (d.data.loans![5]!.unionMemberId = MISSING_MEMBER)),
    );
    const problem = `refers to unionMembers "${MISSING_MEMBER}", which is not in the file`;
    expect(done.error).toBe(`${SUMMARY}: 1 problem: data.loans[5].unionMemberId: ${problem}`);
    expect(done.problems).toEqual([
      p({ table: 'loans', row: 5, field: 'unionMemberId', problem }, `data.loans[5].unionMemberId: ${problem}`),
    ]);
  });
});

describe('a restore that would lock every administrator out', () => {
  const admins = (d: Doc) => d.data.users!.filter((u) => u.role === 'ADMIN');
  // The stack's admin is the only ADMIN anyone can log in as; demo-data admins have placeholder hashes.
  const unusable = () =>
    mutate((d) =>
      admins(d).forEach((u) => {
        u.passwordHash = 'scrypt$disabled$0123456789abcdef';
      }),
    );
  const inactive = () =>
    mutate((d) =>
      admins(d).forEach((u) => {
        u.isActive = false;
      }),
    );
  const finalRow = (id: string) =>
    waitFor(async () => {
      const op = await db.prisma.operation.findUniqueOrThrow({ where: { id } });
      return op.status === 'completed' || op.status === 'failed' ? op : undefined;
    });
  const NO_ADMIN_ERROR = `${SUMMARY}: 1 problem: data.users: ${NO_ADMIN}`;

  it('is refused by default when no ADMIN has a usable password (upload) or none is active (body)', async () => {
    expect(admins(good).length).toBeGreaterThan(1);
    for (const [via, file] of [
      ['upload', unusable()],
      ['body', inactive()],
    ] as const) {
      const done = await refused(via, file);
      expect(done.error).toBe(NO_ADMIN_ERROR);
      expect(done.problems).toEqual([{ table: 'users', problem: NO_ADMIN, message: `data.users: ${NO_ADMIN}` }]);
    }
  });

  it('is restored with allowNoAdmin; the admin bootstrap then lets an admin in again', async () => {
    const res = await requestRestore('upload', unusable(), { skipSafetyBackup: true, allowNoAdmin: true });
    expect(res.status).toBe(202);
    const jobId = res.body.data.jobId;
    // The restore logged everyone out, and nobody can log in now: the row is read directly until an admin is back.
    expect(await finalRow(jobId)).toMatchObject({
      status: 'completed',
      error: null,
      input: { allowNoAdmin: true, skipSafetyBackup: true },
    });
    await expect(stack.login()).rejects.toThrow(/INVALID_CREDENTIALS/);

    // What `npm run admin:bootstrap` runs (the script only adds reading its env; it costs seconds of tsx start-up
    // here).
    const password = 'Recovered-Admin-Pass-42';
    expect(await bootstrapAdmin({ prisma: db.prisma }, { username: 'recovered', password })).toMatchObject({
      created: true,
      generatedPassword: null,
    });
    token = await login(api, { username: 'recovered', password });
    const done = (await client(api, token).json<JobAnswer>('GET', `/api/backup/jobs/${jobId}`)).body.data;
    expect(done).toMatchObject({
      state: 'completed',
      error: null,
      problems: null,
      result: { restored: { users: good.data.users!.length } },
    });

    // The JSON body carries the flag too. Afterwards nobody can log in again, so the row is read directly.
    const again = await requestRestore('body', inactive(), { allowNoAdmin: true, skipSafetyBackup: true });
    expect(again.status).toBe(202);
    expect(await finalRow(again.body.data.jobId)).toMatchObject({
      status: 'completed',
      error: null,
      input: { allowNoAdmin: true },
    });
  });
});
