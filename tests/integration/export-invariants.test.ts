// The export's business invariants describe the rows of the file, not rows changed while it was written: they run
// in the export's own snapshot after the last row. Real PostgreSQL, demo data at scale 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBusinessInvariants, exportSnapshot, type ExportSummary, type InvariantWarning } from '@mp/core';
import { seedDemoData } from '@mp/db';
import { createTestDatabase, type TestDatabase } from '@mp/testing';

let db: TestDatabase;

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

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  await seedDemoData({ pool: db.pool }, { scale: 1, seed: 5 });
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

describe("the export's business invariants", () => {
  it('are those of the rows written: a change committed while the file streams is not seen', async () => {
    const before = await liveInvariants();
    const client = await db.pool.connect();
    const summary: ExportSummary = { recordCounts: {}, schemaVersion: null, timestamp: '' };
    let changed = 0;
    try {
      const rows = exportSnapshot(
        client,
        { includeAuditLogs: true, includeSessions: false },
        summary,
        undefined,
        undefined,
        { invariants: true, afterStream: true },
      );
      for await (const _chunk of rows) {
        if (changed > 0) continue;
        // After the first bytes (the snapshot is taken), before the invariants run: every member with an ACTIVE loan
        // deactivated, committed.
        const res = await db.pool.query(
          `UPDATE union_members SET "isActive" = false WHERE "isActive" AND id IN
             (SELECT "unionMemberId" FROM loans WHERE status = 'ACTIVE')`,
        );
        changed = res.rowCount ?? 0;
      }
      await summary.settled;
    } finally {
      client.release();
    }
    expect(changed).toBeGreaterThan(0);
    expect(summary.warnings).toEqual(before);
    // The live database does see it: the export's warnings are the file's, not today's.
    expect(countOf(await liveInvariants(), INACTIVE)).toBeGreaterThan(countOf(before, INACTIVE));
  });
});
