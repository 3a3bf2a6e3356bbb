import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGING_SCHEMA_PREFIX, runBackup, runRestore, type RestoreDeps } from '@mp/core';
import { seedDemoData } from '@mp/db';
import {
  createRestoreWorkspace,
  createTestDatabase,
  recordStoredRestore,
  tableHashes,
  type TestDatabase,
} from '@mp/testing';

// When a restore's read fails part way (a disk error, a decryption failure), the stage may be waiting for PostgreSQL
// to answer one of its statements. Nothing of the stage may be sent after the restore has given up: not a ROLLBACK
// skipped because a BEGIN was not answered yet (the staging schema's DROP then ran inside that transaction and was
// rolled back with it), not a CREATE TABLE or COPY sent once the connection is closed or serves someone else.
let db: TestDatabase;
let deps: RestoreDeps;
let backupId: string;
const CORE = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments'];

beforeAll(async () => {
  db = await createTestDatabase();
  ({ deps } = await createRestoreWorkspace(db, 'stage-abandon'));
  await seedDemoData(db, { scale: 1, seed: 11 });
  backupId = randomUUID();
  await db.prisma.backupRecord.create({
    data: {
      id: backupId,
      filename: `backup_${backupId}.json`,
      type: 'manual',
      location: 'local',
      options: { includeAuditLogs: false, includeSessions: false },
    },
  });
  await runBackup(deps, backupId, { attempt: 1, isLastAttempt: true });
});

afterAll(async () => {
  await db?.drop();
});

interface Sent {
  text: string;
  /** Sent after the restore had failed. */
  late: boolean;
}

/**
 * Restore deps whose stored file is read slowly (the stage keeps up, so little is read ahead) and fails with a read
 * error as soon as the restore's connection has sent the second statement matching `hold`. The answer to that
 * statement reaches the restore only once the restore has failed (`markFailed`), or after 5 s (`heldUntil` says
 * which). Every statement the restore's connections send is recorded.
 */
function faultyDeps(hold: RegExp) {
  const sent: Sent[] = [];
  let failed = false;
  let tripped = false;
  let restoreFailed!: () => void;
  const afterFailure = new Promise<'failure'>((resolve) => {
    restoreFailed = () => resolve('failure');
  });
  const held: { until?: 'failure' | 'timeout' } = {};
  let matches = 0;
  const local = deps.storage.local!;
  const pool = Object.create(deps.pool) as pg.Pool;
  pool.connect = (async () => {
    const client = await deps.pool.connect();
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      const text = typeof first === 'string' ? first : first.text;
      sent.push({ text, late: failed });
      const answer = query(...args);
      if (!(answer instanceof Promise) || !hold.test(text) || ++matches !== 2) return answer;
      tripped = true;
      return answer.then(async (result) => {
        held.until = await Promise.race([afterFailure, sleep(5_000).then(() => 'timeout' as const)]);
        return result;
      });
    };
    return client;
  }) as pg.Pool['connect'];
  const storage = {
    ...deps.storage,
    local: {
      ...local,
      open: async (key: string) => {
        const file = await local.open(key);
        async function* slowly(): AsyncGenerator<Buffer> {
          for await (const chunk of file as AsyncIterable<Buffer>) {
            for (let at = 0; at < chunk.length; at += 4096) {
              if (tripped) throw new Error('read error on the backup disk');
              yield chunk.subarray(at, at + 4096);
              await sleep(2);
            }
          }
        }
        return Readable.from(slowly(), { objectMode: false });
      },
    },
  };
  return {
    deps: { ...deps, pool, storage } as RestoreDeps,
    sent,
    held,
    markFailed: () => {
      failed = true;
      restoreFailed();
    },
  };
}

describe('a restore whose file read fails while a staging statement awaits its answer', () => {
  it.each([
    ['BEGIN', /^BEGIN$/],
    ['CREATE TABLE', /^CREATE TABLE .* \(LIKE public\./],
  ])('sends nothing more after failing, drops its staging schema, and changes nothing (held: %s)', async (_, hold) => {
    const before = await tableHashes(db.pool, CORE);
    const faulty = faultyDeps(hold);
    const id = await recordStoredRestore(db, backupId);

    const outcome = await runRestore(faulty.deps, id, { jobId: id }).then(
      () => null,
      (err: Error) => err,
    );
    faulty.markFailed();
    // Time for a stage still on its way to send its next statement, if it were going to.
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(outcome?.message).toMatch(/read error on the backup disk/);
    // The restore failed while the statement awaited its answer: the case under test.
    expect(faulty.held.until).toBe('failure');
    expect(faulty.sent.filter((s) => s.late).map((s) => s.text)).toEqual([]);
    const schema = `${STAGING_SCHEMA_PREFIX}${id.replaceAll('-', '').slice(0, 16)}`;
    const { rows } = await db.pool.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]);
    expect(rows).toEqual([]);
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
    const maintenance = await db.prisma.maintenanceState.findFirst();
    expect(maintenance?.active ?? false).toBe(false);

    // And the next restore runs on whatever connections the pool has now.
    const next = await recordStoredRestore(db, backupId);
    const result = await runRestore(deps, next, { jobId: next });
    expect(Object.keys(result.restored)).toEqual(expect.arrayContaining(['users', 'loans']));
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
  });
});
