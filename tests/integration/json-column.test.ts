// A json (not jsonb) column keeps its text as written, whitespace too. A line break in it must not split the row's
// line in the file (one row per line), and the value must come back the same. The schema has no json column today
// (Prisma's Json is jsonb): the test adds one, as a migration could. Real PostgreSQL.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runBackup, runRestore } from '@mp/core';
import { seedDemoData } from '@mp/db';
import {
  createBackupRecord,
  createRestoreWorkspace,
  createTestDatabase,
  recordRestore,
  type RestoreWorkspace,
  type TestDatabase,
} from '@mp/testing';

let db: TestDatabase;
let workspace: RestoreWorkspace;

const VALUES = [
  '{"a":\n 1,\r\n "b": [1,\n2], "s": "a line\\nbreak, escaped"}',
  '\n[\r\n]\n',
  'null',
  '{"$json":\n 1}',
  '"text"',
];

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  workspace = await createRestoreWorkspace(db, 'json-column');
  await seedDemoData({ pool: db.pool }, { scale: 1, seed: 11 });
  await db.pool.query('ALTER TABLE audit_logs ADD COLUMN extra json');
  const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM audit_logs ORDER BY id LIMIT ${VALUES.length}`);
  for (const [i, { id }] of rows.entries())
    await db.pool.query('UPDATE audit_logs SET extra = $1::json WHERE id = $2', [VALUES[i], id]);
}, 60_000);

afterAll(async () => {
  await db?.drop();
  await workspace?.remove();
});

/** Each audit log's `extra` as its text (json) and as jsonb, by id. */
async function extras(): Promise<Map<string, { text: string | null; value: unknown }>> {
  const { rows } = await db.pool.query<{ id: string; text: string | null; value: unknown }>(
    'SELECT id, extra::text AS text, extra::jsonb AS value FROM audit_logs WHERE extra IS NOT NULL',
  );
  return new Map(rows.map((r) => [r.id, { text: r.text, value: r.value }]));
}

it('writes a json value with line breaks on its row line, and restores the same value', async () => {
  const before = await extras();
  expect(before.size).toBe(VALUES.length);

  const id = await createBackupRecord(db.prisma, { options: { includeAuditLogs: true, includeSessions: false } });
  const plain = { gzipLevel: 1, compressThresholdBytes: 64 * 1024 * 1024 };
  await runBackup({ ...workspace.deps, settings: plain }, id, { attempt: 1, isLastAttempt: true });
  const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
  expect(record.status).toBe('completed');
  const text = await readFile(path.join(workspace.dir, 'backups', record.filename), 'utf8');
  // One row per line: every row line is a whole JSON object.
  const rows = text.split('\n').filter((l) => /^,?\{"/.test(l) && !l.startsWith('{"metadata"'));
  expect(rows.length).toBe(Object.values(record.recordCounts as Record<string, number>).reduce((a, b) => a + b, 0));
  for (const row of rows) expect(() => JSON.parse(row.replace(/^,/, ''))).not.toThrow();

  await db.pool.query('UPDATE audit_logs SET extra = NULL');
  const restore = await recordRestore(db, { backupId: id });
  await runRestore(workspace.deps, restore, { jobId: restore });
  const after = await extras();
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [key, { value, text: was }] of before) {
    expect(after.get(key)!.value, key).toEqual(value);
    // The same text, but for line breaks between tokens, which became spaces (and whitespace around the whole
    // value, which a restore never kept: the row's JSON does not tell it from the row's own).
    expect(after.get(key)!.text, key).toBe(was!.replace(/[\r\n]/g, ' ').trim());
  }
});
