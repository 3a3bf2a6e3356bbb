import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, runBackup, runRestore, type RestoreDeps } from '@mp/core';
import { seedDemoData } from '@mp/db';
import {
  createBackupRecord,
  buildHostileCorpus,
  createRestoreWorkspace,
  createTestDatabase,
  createUser,
  docText,
  recordRestore,
  tableHashes,
  type BackupDocument,
  type HostileCase,
  type TestDatabase,
} from '@mp/testing';

// Every case of the generated hostile corpus (tests/e2e/hostile-input.test.ts sends a sample of each family through
// the real API and worker, both ways) goes through the worker's restore, `runRestore`, here in-process: the same
// code with the same database, without the HTTP and queue round trips that would make 1,000+ refusals cost a
// quarter of an hour. Two lanes, each on its own database, run side by side.
const SEED = 11;
const LANES = 2;
const DOMAIN = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments', 'audit_logs', 'sessions'];
/** What a refused restore may end with: each a domain code with a sentence, never an internal error. */
const REFUSAL_CODES = new Set(['INVALID_BACKUP_FILE', 'UNSUPPORTED_BACKUP_VERSION', 'CHECKSUM_MISMATCH']);
const UNREADABLE = /Interrupted|Internal|invocation|prisma|unexpected error|\n|at .+\.(ts|js|mjs):\d+/i;

interface Lane {
  db: TestDatabase;
  dir: string;
  deps: RestoreDeps;
  remove: () => Promise<void>;
  before: Awaited<ReturnType<typeof tableHashes>>;
}

let base: BackupDocument;
const lanes: Lane[] = [];

async function openLane(): Promise<Lane> {
  const db = await createTestDatabase();
  await seedDemoData(db, { scale: 0.01, seed: SEED });
  // Never compressed: the corpus damages the text of the file as stored.
  const workspace = await createRestoreWorkspace(db, 'hostile', {
    settings: { gzipLevel: 1, compressThresholdBytes: 1 << 30 },
  });
  return { db, ...workspace, before: await tableHashes(db.pool, DOMAIN) };
}

/** A stored backup of the lane's database (a record and its file, as the worker writes them). */
async function storeBackup(lane: Lane): Promise<{ id: string; file: string }> {
  const id = await createBackupRecord(lane.db.prisma, { options: { includeAuditLogs: true, includeSessions: false } });
  await runBackup(lane.deps, id, { attempt: 1, isLastAttempt: true });
  const record = await lane.db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
  return { id, file: path.join(lane.dir, 'backups', record.filename) };
}

/** Restores `source` on `lane`; resolves with what went wrong with the refusal, or null when it was refused plainly. */
async function refuse(
  lane: Lane,
  source: { bytes: Buffer } | { backupId: string },
  expectCode?: string,
): Promise<string | null> {
  const from = 'bytes' in source ? { ...source, uploadDir: lane.deps.uploadDir } : source;
  const id = await recordRestore(lane.db, from, { allowNoAdmin: false });
  const outcome = await runRestore(lane.deps, id, { jobId: id }).then(
    () => 'restored',
    (err: unknown) => err,
  );
  const complaints: string[] = [];
  if (outcome === 'restored') complaints.push('it was restored');
  else if (!isAppError(outcome) || !REFUSAL_CODES.has(outcome.code))
    complaints.push(`not a refusal: ${String((outcome as Error)?.message ?? outcome).slice(0, 300)}`);
  else {
    if (expectCode && outcome.code !== expectCode)
      complaints.push(`${outcome.code} instead of ${expectCode}: ${outcome.message.slice(0, 200)}`);
    if (UNREADABLE.test(outcome.message) || outcome.message.length < 20)
      complaints.push(`unreadable: ${outcome.message.slice(0, 300)}`);
    const problems = (outcome.details as { problems?: unknown[] } | undefined)?.problems;
    if (outcome.code === 'INVALID_BACKUP_FILE' && !(Array.isArray(problems) && problems.length > 0))
      complaints.push('no structured problems');
  }
  const after = await tableHashes(lane.db.pool, DOMAIN);
  if (JSON.stringify(after) !== JSON.stringify(lane.before)) {
    complaints.push('data changed');
    lane.before = after; // so one wrong restore is reported once, not again by every case after it
  }
  const { rows } = await lane.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM maintenance_state WHERE active`);
  if (rows[0]?.n !== '0') complaints.push('maintenance left on');
  const { rows: schemas } = await lane.db.pool.query(
    `SELECT 1 FROM pg_namespace WHERE nspname LIKE 'mp_restore_%' AND NOT starts_with(nspname, 'mp_restore_point_')`,
  );
  if (schemas.length > 0) complaints.push('staging schema left behind');
  return complaints.length > 0 ? complaints.join('; ') : null;
}

function bytesOf(c: HostileCase): Buffer {
  return c.file ?? Buffer.from(docText(c.doc));
}

beforeAll(async () => {
  for (let i = 0; i < LANES; i++) lanes.push(await openLane());
  // The corpus is built from a backup with an admin who can log in, so that no case is refused only because
  // nobody could log in afterwards: each must be refused for its own damage.
  const first = lanes[0]!;
  await createUser(first.db.prisma, { role: 'ADMIN' });
  first.before = await tableHashes(first.db.pool, DOMAIN);
  const { file } = await storeBackup(first);
  base = JSON.parse(await readFile(file, 'utf8')) as BackupDocument;
}, 120_000);

afterAll(async () => {
  for (const lane of lanes) {
    await lane.db.drop();
    await lane.remove();
  }
});

describe('the whole hostile corpus through the restore', () => {
  it('refuses every case plainly, changing nothing', async () => {
    const corpus = buildHostileCorpus(base, { seed: SEED });
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    const perFamily: Record<string, { cases: number; refused: number }> = {};
    const complaints: string[] = [];
    const started = Date.now();
    // Cases are dealt to the lanes in turn; each lane runs its share one at a time (restores are exclusive).
    await Promise.all(
      lanes.map(async (lane, l) => {
        for (const c of corpus.filter((_, i) => i % LANES === l)) {
          const complaint = await refuse(lane, { bytes: bytesOf(c) });
          const row = (perFamily[c.family] ??= { cases: 0, refused: 0 });
          row.cases++;
          if (complaint) complaints.push(`#${c.index} ${c.family} ${c.description.slice(0, 120)}: ${complaint}`);
          else row.refused++;
        }
      }),
    );
    console.log(`hostile corpus: ${corpus.length} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.table(perFamily);
    expect(complaints).toEqual([]);
  }, 900_000);

  it('refuses a stored backup whose file was altered after it was written (wrong checksum), changing ' +
    'nothing', async () => {
    const lane = lanes[0]!;
    // Kinds of damage a stored file can suffer; each keeps a parseable file, so only the checksum can tell.
    const damages: Array<[string, (text: string) => string]> = [
      [
        'a digit changed in a value',
        (t) => t.replace(/"principal":"(\d)/, (_m, d: string) => `"principal":"${(Number(d) + 1) % 10}`),
      ],
      ['a row removed', (t) => t.replace(/\n\{"id":"[^\n]*\},?(?=\n)/, '')],
      ['a field renamed', (t) => t.replace('"firstName"', '"firstNamf"')],
      ['trailing bytes appended', (t) => `${t}\n`],
      ['a role raised to ADMIN', (t) => t.replace('"role":"CREDIT_OFFICER"', '"role":"ADMIN"')],
      ['compressed after the fact', (t) => t],
    ];
    const complaints: string[] = [];
    for (const [what, damage] of damages) {
      const { id, file } = await storeBackup(lane);
      const text = await readFile(file, 'utf8');
      const altered = what === 'compressed after the fact' ? gzipSync(text) : Buffer.from(damage(text));
      expect(altered.equals(Buffer.from(text)), what).toBe(false);
      await writeFile(file, altered);
      const complaint = await refuse(lane, { backupId: id }, 'CHECKSUM_MISMATCH');
      if (complaint) complaints.push(`${what}: ${complaint}`);
    }
    expect(complaints).toEqual([]);
  }, 120_000);

  it('restores the undamaged base it was built from (the control: refusals above are for the damage ' +
    'alone)', async () => {
    const lane = lanes[1]!;
    const upload = { bytes: docText(base), uploadDir: lane.deps.uploadDir };
    const id = await recordRestore(lane.db, upload, { allowNoAdmin: false });
    const result = await runRestore(lane.deps, id, { jobId: id });
    expect(result.restored.users).toBe(base.data.users!.length);
  }, 60_000);
});
