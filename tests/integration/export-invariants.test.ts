// The export's business invariants run beside the rows, on a second connection that joins the export's snapshot
// by name; with no connection to spare, on the export's own connection after the last row. Either way they
// describe the rows of the file, not rows changed while it was written. Real PostgreSQL, demo data at scale 1.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkBusinessInvariants,
  exportSnapshot,
  runBackup,
  type ExportSummary,
  type InvariantsConnection,
  type InvariantWarning,
  type VerifyReport,
} from '@mp/core';
import { createPgPool, seedDemoData } from '@mp/db';
import { createLogger } from '@mp/logger';
import { createLocalStorage } from '@mp/storage';
import { createBackupRecord, createTestDatabase, type TestDatabase } from '@mp/testing';

let db: TestDatabase;
let dir: string;
let before: InvariantWarning[];

const INACTIVE = 'ACTIVE_LOAN_OF_INACTIVE_MEMBER';
const countOf = (warnings: InvariantWarning[] | undefined, code: string) =>
  warnings?.find((w) => w.code === code)?.count ?? 0;

async function liveInvariants(): Promise<InvariantWarning[]> {
  const client = await db.pool.connect();
  try {
    return await checkBusinessInvariants(client, { schema: 'public' });
  } finally {
    client.release();
  }
}

/**
 * Exports the whole database with `beside` as the invariants' connection; `beside` first deactivates every member
 * with an ACTIVE loan (committed after the export's snapshot was taken). Returns the export's warnings and how
 * many members changed.
 */
async function exportWhileMembersChange(
  beside: (connect: () => Promise<pg.PoolClient>) => ReturnType<InvariantsConnection>,
) {
  const client = await db.pool.connect();
  let changed = 0;
  const summary: ExportSummary = { recordCounts: {}, schemaVersion: null, timestamp: '' };
  try {
    const rows = exportSnapshot(
      client,
      { includeAuditLogs: true, includeSessions: false },
      summary,
      undefined,
      undefined,
      {
        invariants: true,
        afterStream: true,
        beside: async () => {
          const res = await db.pool.query(
            `UPDATE union_members SET "isActive" = false WHERE "isActive" AND id IN
             (SELECT "unionMemberId" FROM loans WHERE status = 'ACTIVE')`,
          );
          changed = res.rowCount ?? 0;
          return beside(() => db.pool.connect());
        },
      },
    );
    for await (const _chunk of rows);
    await summary.settled;
  } finally {
    client.release();
  }
  return { warnings: summary.warnings, changed };
}

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  await seedDemoData({ pool: db.pool }, { scale: 1, seed: 5 });
  dir = await mkdtemp(path.join(tmpdir(), 'mp-export-invariants-'));
}, 60_000);

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the export's business invariants", () => {
  // Each case changes members: the database is put back after it.
  let snapshotOfMembers: { id: string; isActive: boolean }[];
  beforeAll(async () => {
    before = await liveInvariants();
    snapshotOfMembers = (await db.pool.query('SELECT id, "isActive" FROM union_members')).rows;
  });
  const putMembersBack = () =>
    db.pool.query(
      `UPDATE union_members m SET "isActive" = x."isActive" FROM jsonb_to_recordset($1::jsonb) AS x(id text, "isActive" boolean)
        WHERE m.id = x.id`,
      [JSON.stringify(snapshotOfMembers)],
    );

  it('run on a second connection in the snapshot of the rows: a change committed after it is not seen', async () => {
    try {
      let used = false;
      const { warnings, changed } = await exportWhileMembersChange(async (connect) => {
        used = true;
        return connect();
      });
      expect(used).toBe(true);
      expect(changed).toBeGreaterThan(0);
      expect(warnings).toEqual(before);
      // The live database does see it: the export's warnings are the file's, not today's.
      expect(countOf(await liveInvariants(), INACTIVE)).toBeGreaterThan(countOf(before, INACTIVE));
      // The second connection went back to the pool: every connection is idle again.
      expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
    } finally {
      await putMembersBack();
    }
  });

  it("with no connection to spare, run on the export's own connection after the rows, in the same snapshot", async () => {
    try {
      const { warnings, changed } = await exportWhileMembersChange(async () => undefined);
      expect(changed).toBeGreaterThan(0);
      expect(warnings).toEqual(before);
    } finally {
      await putMembersBack();
    }
  });

  it('a backup on a pool of one connection completes, its invariants run after the rows (no wait for a second)', async () => {
    const pool = createPgPool(db.url, { max: 1 });
    try {
      const id = await createBackupRecord(db.prisma, { options: { includeAuditLogs: true, includeSessions: false } });
      const result = await runBackup(
        {
          prisma: db.prisma,
          pool,
          logger: createLogger({ level: 'silent' }),
          settings: { gzipLevel: 1, compressThresholdBytes: 1024 * 1024 },
          storage: { local: createLocalStorage({ dir }), cloud: null },
        },
        id,
        { attempt: 1, isLastAttempt: true },
      );
      expect(result.status).toBe('completed');
      const row = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
      const report = row.verification as unknown as VerifyReport;
      expect(report).toMatchObject({ ok: true, invariants: 'snapshot' });
      expect(report.warnings.map((w) => [w.rule, w.count])).toEqual(before.map((w) => [w.code, w.count]));
    } finally {
      await pool.end();
    }
  });
});
