// Read-back after every write and on-demand verify, against a real PostgreSQL and the
// Cloudinary emulator: copies damaged after they were written, caught by the read-back and named by verify.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readRecordStorage,
  runBackup,
  toBackupView,
  verifyBackup,
  type BackupRunDeps,
  type JobProgress,
  type VerifyReport,
} from '@mp/core';
import { seedDemoData } from '@mp/db';
import { createLogger } from '@mp/logger';
import { createCloudinaryStorage, createLocalStorage, type BackupStorage } from '@mp/storage';
import {
  createBackupRecord,
  createTestDatabase,
  startCloudinaryEmulator,
  type CloudinaryEmulator,
  type TestDatabase,
} from '@mp/testing';

let db: TestDatabase;
let cloud: CloudinaryEmulator;
let dir: string;
let deps: BackupRunDeps;

const READ_BACK_CHECKS = ['readable', 'size', 'checksum', 'parse', 'metadata', 'counts'];

/** A storage whose `put` damages what it just stored: damage after write, before the read-back. */
function damaging(
  inner: BackupStorage,
  damage: (key: string, stored: { path?: string }) => Promise<void>,
): BackupStorage {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'put') {
        return async (...args: Parameters<BackupStorage['put']>) => {
          const stored = await target.put(...args);
          await damage(args[0], stored.location.kind === 'local' ? { path: stored.location.path } : {});
          return stored;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Flips one byte in the middle of a file (inside a row: the size stays, the content does not). */
async function flipByte(file: string): Promise<void> {
  const data = await readFile(file);
  const at = Math.floor(data.length / 2);
  data[at] = data[at]! ^ 0x01;
  await writeFile(file, data);
}

/** The emulator's file holding the asset stored under `key`. */
function assetPath(key: string): string {
  const asset = cloud.resources().find((r) => r.publicId.includes(key.replace(/\.json(\.gz)?$/, '')));
  if (!asset) throw new Error(`no asset for ${key}`);
  return asset.path;
}

const localStorage = () => createLocalStorage({ dir });
const cloudStorage = () => createCloudinaryStorage({ url: cloud.cloudinaryUrl });

async function record(location: 'local' | 'cloud' | 'both') {
  const id = await createBackupRecord(db.prisma, {
    location,
    options: { includeAuditLogs: false, includeSessions: false },
  });
  return id;
}

async function row(id: string) {
  return db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
}

const checkNames = (report: VerifyReport, copy: 'local' | 'cloud') =>
  report.copies.find((c) => c.copy === copy)?.checks.map((c) => c.name);
const failing = (report: VerifyReport, copy: 'local' | 'cloud') =>
  report.copies
    .find((c) => c.copy === copy)
    ?.checks.filter((c) => !c.ok)
    .map((c) => c.name);

beforeAll(async () => {
  db = await createTestDatabase();
  await seedDemoData(db, { scale: 1, seed: 3 });
  cloud = await startCloudinaryEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'mp-readback-'));
  deps = {
    prisma: db.prisma,
    pool: db.pool,
    logger: createLogger({ level: 'silent' }),
    settings: { gzipLevel: 1, compressThresholdBytes: 1024 * 1024 },
    storage: { local: localStorage(), cloud: cloudStorage() },
  };
}, 60_000);

afterAll(async () => {
  await cloud?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('read-back after write', () => {
  it(
    'reads both copies back before the backup is completed, with the invariants of its snapshot as ' + 'warnings',
    async () => {
      const id = await record('both');
      const stages: JobProgress['stage'][] = [];
      const result = await runBackup(deps, id, {
        attempt: 1,
        isLastAttempt: true,
        onProgress: (p) => stages.push(p.stage),
      });
      expect(result.status).toBe('completed');
      expect(stages).toContain('verifying');
      expect(stages.indexOf('verifying')).toBeLessThan(stages.indexOf('done'));
      const r = await row(id);
      const report = r.verification as unknown as VerifyReport;
      expect(report).toMatchObject({
        ok: true,
        trigger: 'read-back',
        references: 'skipped',
        invariants: 'snapshot',
        problems: [],
      });
      expect(r.verifiedAt?.toISOString()).toBe(report.checkedAt);
      expect(report.copies.map((c) => c.copy)).toEqual(['local', 'cloud']);
      // The content is checked once, on the bytes as they were written; each copy is read in full and hashed.
      for (const copy of ['local', 'cloud'] as const) {
        expect(checkNames(report, copy)).toEqual(READ_BACK_CHECKS);
        expect(report.copies.find((c) => c.copy === copy)!.checks.find((c) => c.name === 'checksum')).toEqual({
          name: 'checksum',
          ok: true,
          details: expect.stringMatching(/^the bytes written, whose content was checked as they were written/),
        });
      }
      // The seeded data carries ACTIVE loans of inactive members: seen, counted, and not a failure.
      const expected = await db.pool.query<{ id: string }>(
        `SELECT l.id FROM loans l JOIN union_members m ON m.id = l."unionMemberId" WHERE l.status = 'ACTIVE' AND NOT ` +
          `m."isActive" ORDER BY l.id`,
      );
      expect(expected.rows.length).toBeGreaterThan(0);
      expect(report.warnings).toEqual([
        expect.objectContaining({
          rule: 'ACTIVE_LOAN_OF_INACTIVE_MEMBER',
          count: expected.rows.length,
          examples: expected.rows.slice(0, 5).map((x) => x.id),
        }),
      ]);
    },
  );

  it(
    'a local copy with a flipped byte makes a "both" backup partial, names the copy and the check, and removes ' + 'it',
    async () => {
      const id = await record('both');
      // Damaged once stored: the cloud copy is uploaded from the same stream at the same time, not from the file,
      // so it stays good (damaging the file when the upload ends raced the local rename: ENOENT).
      const run = {
        ...deps,
        storage: { ...deps.storage, local: damaging(localStorage(), async (_key, stored) => flipByte(stored.path!)) },
      };
      const result = await runBackup(run, id, { attempt: 1, isLastAttempt: true });
      expect(result.status).toBe('partial');
      const r = await row(id);
      expect(r.status).toBe('partial');
      expect(r.error).toMatch(/^Read-back failed: local copy: checksum: .*the cloud copy is good/);
      expect(readRecordStorage(r.storage).local).toBeUndefined();
      expect(readRecordStorage(r.storage).cloud).toBeTruthy();
      await expect(stat(path.join(dir, r.filename))).rejects.toMatchObject({ code: 'ENOENT' });
      const report = r.verification as unknown as VerifyReport;
      expect(report.ok).toBe(false);
      expect(failing(report, 'local')).toContain('checksum');
      // The local copy cannot vouch for the cloud copy's content: the cloud copy is checked in full.
      expect(checkNames(report, 'cloud')).toEqual(READ_BACK_CHECKS);
      expect(failing(report, 'cloud')).toEqual([]);
      // The list shows it in short: failed, with the failed check named.
      expect(toBackupView(r).verificationSummary).toMatchObject({
        ok: false,
        trigger: 'read-back',
        failed: [expect.stringMatching(/^local copy: checksum/)],
      });
    },
  );

  it('a truncated local-only copy fails the backup, with size and checksum named', async () => {
    const id = await record('local');
    const run = {
      ...deps,
      storage: { ...deps.storage, local: damaging(localStorage(), async (_k, s) => truncate(s.path!, 1000)) },
    };
    await expect(runBackup(run, id, { attempt: 1, isLastAttempt: true })).rejects.toThrow(
      /Read-back failed: local copy: size: .*no good copy is left/,
    );
    const r = await row(id);
    expect(r.status).not.toBe('completed');
    const report = r.verification as unknown as VerifyReport;
    expect(failing(report, 'local')).toEqual(expect.arrayContaining(['size', 'checksum', 'parse']));
    expect(readRecordStorage(r.storage).local).toBeUndefined();
  });

  it(
    'a Cloudinary asset altered after upload makes a "both" backup partial and the cloud copy is ' + 'deleted',
    async () => {
      const id = await record('both');
      const run = {
        ...deps,
        storage: { ...deps.storage, cloud: damaging(cloudStorage(), async (key) => flipByte(assetPath(key))) },
      };
      const result = await runBackup(run, id, { attempt: 1, isLastAttempt: true });
      expect(result.status).toBe('partial');
      const r = await row(id);
      expect(r.error).toMatch(/^Read-back failed: cloud copy: checksum: .*the local copy is good/);
      expect(readRecordStorage(r.storage).cloud).toBeUndefined();
      expect(r.cloudinaryUrl).toBeNull();
      expect(cloud.resources().filter((a) => a.publicId.includes(id))).toEqual([]);
      const report = r.verification as unknown as VerifyReport;
      // A copy whose bytes do not match is checked in full, so its report names its problem as before.
      expect(checkNames(report, 'local')).toEqual(READ_BACK_CHECKS);
      expect(checkNames(report, 'cloud')).toEqual(READ_BACK_CHECKS);
      expect(failing(report, 'local')).toEqual([]);
      expect(failing(report, 'cloud')).toContain('checksum');
    },
  );

  it('a "cloud" backup whose only copy is altered fails', async () => {
    const id = await record('cloud');
    const run = {
      ...deps,
      storage: { ...deps.storage, cloud: damaging(cloudStorage(), async (key) => flipByte(assetPath(key))) },
    };
    await expect(runBackup(run, id, { attempt: 1, isLastAttempt: true })).rejects.toThrow(
      /cloud copy: checksum.*no good copy is left/,
    );
  });

  it('a copy that cannot be downloaded asks for a retry while attempts remain, and the retry completes', async () => {
    const id = await record('both');
    cloud.failNext(1, 503, 'download');
    await expect(runBackup(deps, id, { attempt: 1, isLastAttempt: false })).rejects.toThrow(
      /Read-back failed, will retry: cloud copy: readable/,
    );
    expect(readRecordStorage((await row(id)).storage).cloud).toBeTruthy();
    const result = await runBackup(deps, id, { attempt: 2, isLastAttempt: true });
    expect(result.status).toBe('completed');
    const report = (await row(id)).verification as unknown as VerifyReport;
    // The retry resumed the written file: its invariants were not computed again.
    expect(report).toMatchObject({ ok: true, invariants: 'not-run', warnings: [] });
  });
});

describe('verify names the failing check', () => {
  /** A completed local backup, plain JSON unless `gzip`. */
  async function backup(gzip = false): Promise<{ id: string; file: string }> {
    const id = await record('local');
    const run = gzip ? { ...deps, settings: { ...deps.settings, compressThresholdBytes: 0 } } : deps;
    await runBackup(run, id, { attempt: 1, isLastAttempt: true });
    const r = await row(id);
    return { id, file: readRecordStorage(r.storage).local!.path };
  }

  /** Rewrites the stored file and records its new checksum and size, as if it had been written so. */
  async function rewrite(id: string, file: string, change: (text: string) => string): Promise<void> {
    const text = change(await readFile(file, 'utf8'));
    await writeFile(file, text);
    const bytes = Buffer.from(text);
    await db.prisma.backupRecord.update({
      where: { id },
      data: { checksum: createHash('sha256').update(bytes).digest('hex'), fileSize: BigInt(bytes.length) },
    });
  }

  const verify = (id: string) => verifyBackup(deps, id);

  it('passes a good backup with rows and references checked, and invariant warnings that do not fail it', async () => {
    const { id } = await backup();
    const report = await verify(id);
    expect(report).toMatchObject({
      ok: true,
      trigger: 'verify',
      references: 'checked',
      invariants: 'file',
      problems: [],
    });
    expect(checkNames(report, 'local')).toEqual([...READ_BACK_CHECKS, 'rows', 'references']);
    expect(report.warnings.map((w) => w.rule)).toEqual(['ACTIVE_LOAN_OF_INACTIVE_MEMBER']);
    expect(report.warnings[0]!.count).toBeGreaterThan(0);
    expect(report.warnings[0]!.examples.length).toBeGreaterThan(0);
    expect((await row(id)).verification).toMatchObject({ ok: true, trigger: 'verify' });
    // Nothing is left of the scratch schema.
    const left = await db.pool.query(`SELECT 1 FROM pg_namespace WHERE nspname LIKE 'mp_verify_%'`);
    expect(left.rowCount).toBe(0);
  });

  it('a truncated gzip file: size, checksum and decompress', async () => {
    const { id, file } = await backup(true);
    expect(file.endsWith('.json.gz')).toBe(true);
    await truncate(file, Math.floor((await stat(file)).size / 2));
    const report = await verify(id);
    expect(report.ok).toBe(false);
    expect(failing(report, 'local')).toEqual(['size', 'checksum', 'decompress']);
    expect(report.references).toBe('skipped');
    expect(checkNames(report, 'local')).not.toContain('references');
  });

  it('a flipped byte: checksum', async () => {
    const { id, file } = await backup();
    await flipByte(file);
    const report = await verify(id);
    expect(failing(report, 'local')).toContain('checksum');
    expect(failing(report, 'local')).not.toContain('size');
  });

  it('wrong counts: a row removed, checksum and size matching', async () => {
    const { id, file } = await backup();
    await rewrite(id, file, (t) =>
      t.replace(/("repayments":\[\n)([^\n]*\n)([^\n]*\n)/, (_m, open: string, first: string) => open + first),
    );
    const report = await verify(id);
    expect(failing(report, 'local')).toEqual(['counts']);
    expect(report.problems[0]).toMatch(/^local copy: counts: repayments: metadata says \d+ rows, the file has \d+/);
  });

  it('a broken reference: a loan naming a member that does not exist', async () => {
    const { id, file } = await backup();
    const missing = '00000000-0000-4000-8000-00000000dead';
    await rewrite(id, file, (t) => t.replace(/("unionMemberId":")[^"]+"/, `$1${missing}"`));
    const report = await verify(id);
    expect(failing(report, 'local')).toEqual(['references']);
    expect(report.problems[0]).toContain(missing);
    // Warnings are only known when the rows could be staged whole.
    expect(report.invariants).toBe('not-run');
  });

  it('a wrong checksum on the record: checksum only', async () => {
    const { id } = await backup();
    await db.prisma.backupRecord.update({ where: { id }, data: { checksum: 'f'.repeat(64) } });
    const report = await verify(id);
    expect(failing(report, 'local')).toEqual(['checksum']);
    // The content is fine, so rows and references are still checked (the slow, untyped way).
    expect(checkNames(report, 'local')).toContain('references');
  });

  it('checks every copy of a "both" backup, the cloud one through the emulator', async () => {
    const id = await record('both');
    await runBackup(deps, id, { attempt: 1, isLastAttempt: true });
    await flipByte(assetPath((await row(id)).filename));
    const report = await verify(id);
    expect(report.copies.map((c) => c.copy)).toEqual(['local', 'cloud']);
    expect(failing(report, 'local')).toEqual([]);
    expect(failing(report, 'cloud')).toContain('checksum');
    expect(report.ok).toBe(false);
  });
});
