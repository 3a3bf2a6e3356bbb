import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGING_SCHEMA_PREFIX, runBackup, runRestore, type RestoreDeps } from '@mp/core';
import { createPgPool, seedDemoData } from '@mp/db';
import { createRestoreWorkspace, createTestDatabase, recordRestore, tableHashes, type TestDatabase } from '@mp/testing';

// When a restore's read fails part way (a disk error, a decryption failure), the stage may be waiting for PostgreSQL
// to answer one of its statements. Nothing of the stage may be sent after the restore has given up: not a ROLLBACK
// skipped because a BEGIN was not answered yet (the staging schema's DROP then ran inside that transaction and was
// rolled back with it), not a CREATE TABLE or COPY sent once the connection is closed or serves someone else.
let db: TestDatabase;
let deps: RestoreDeps;
let removeWorkspace: (() => Promise<void>) | undefined;
let backupId: string;
const pools: pg.Pool[] = [];
const CORE = ['users', 'unions', 'union_members', 'loan_types', 'loans', 'repayments'];

beforeAll(async () => {
  db = await createTestDatabase();
  ({ deps, remove: removeWorkspace } = await createRestoreWorkspace(db, 'stage-abandon'));
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
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
  await db?.drop();
  await removeWorkspace?.();
});

interface Sent {
  text: string;
  /** The connection sent `CREATE SCHEMA` or a `COPY`: the stage's (the builders clean up in the background). */
  stage: () => boolean;
  /** Sent after the restore had failed. */
  late: boolean;
}

/**
 * Restore deps whose stored file is read up to the line that opens its second table, and then fails with a read
 * error as soon as the restore's connection has sent the second statement matching `hold` (a statement of that
 * table). Nothing more is there to read, so the read is waiting when it fails, and the failure reaches the stage at
 * once, whatever the machine's load. The answer to that statement reaches the restore only once the restore has
 * failed (`markFailed`), or after 5 s (`held.until` says which). Every statement the restore's connections send is
 * recorded.
 */
function faultyDeps(hold: RegExp) {
  const sent: Sent[] = [];
  let failed = false;
  let trip!: () => void;
  const tripped = new Promise<void>((resolve) => {
    trip = resolve;
  });
  let restoreFailed!: () => void;
  const afterFailure = new Promise<'failure'>((resolve) => {
    restoreFailed = () => resolve('failure');
  });
  const held: { until?: 'failure' | 'timeout' } = {};
  let matches = 0;
  const local = deps.storage.local!;
  const watched = new WeakSet<pg.PoolClient>();
  const watch = (client: pg.PoolClient): pg.PoolClient => {
    // The pool hands the same client out again once it is back: watched once.
    if (watched.has(client)) return client;
    watched.add(client);
    let stage = false;
    const send = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      const text = typeof first === 'string' ? first : first.text;
      stage ||= /^(CREATE SCHEMA|COPY) /.test(text);
      sent.push({ text, stage: () => stage, late: failed });
      const answer = send(...args);
      if (!(answer instanceof Promise) || !hold.test(text) || ++matches !== 2) return answer;
      trip();
      return answer.then(async (result) => {
        held.until = await Promise.race([afterFailure, sleep(5_000).then(() => 'timeout' as const)]);
        return result;
      });
    };
    return client;
  };
  // A pool of its own: its connections are watched for good (a statement sent after one went back is recorded too),
  // and ended with the test.
  const pool = createPgPool(db.url, { max: 8, onError: () => {} });
  pools.push(pool);
  const connect = pool.connect.bind(pool) as (cb?: unknown) => Promise<pg.PoolClient> | undefined;
  pool.connect = ((cb?: unknown) => (cb ? connect(cb) : connect()!.then(watch))) as pg.Pool['connect'];
  const storage = {
    ...deps.storage,
    local: {
      ...local,
      open: async (key: string) => {
        const pieces: Buffer[] = [];
        for await (const piece of (await local.open(key)) as AsyncIterable<Buffer>) pieces.push(piece);
        const file = Buffer.concat(pieces);
        expect(file[0]).toBe(0x7b); // '{': stored in clear, so its lines can be cut here
        // The end of the line opening the second table (`"<key>":[`, after the metadata and `"data":{` lines).
        const opening = /\n"[A-Za-z]+":\[\n/g;
        opening.exec(file.toString('latin1'));
        opening.exec(file.toString('latin1'));
        expect(opening.lastIndex).toBeGreaterThan(0);
        async function* upToTheSecondTable(): AsyncGenerator<Buffer> {
          yield file.subarray(0, opening.lastIndex);
          await Promise.race([tripped, sleep(5_000)]);
          throw new Error('read error on the backup disk');
        }
        return Readable.from(upToTheSecondTable(), { objectMode: false });
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
    const id = await recordRestore(db, { backupId });

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
    expect(faulty.sent.filter((s) => s.stage()).length).toBeGreaterThan(0);
    expect(faulty.sent.filter((s) => s.late && s.stage()).map((s) => s.text)).toEqual([]);
    const schema = `${STAGING_SCHEMA_PREFIX}${id.replaceAll('-', '').slice(0, 16)}`;
    const { rows } = await db.pool.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]);
    expect(rows).toEqual([]);
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
    const maintenance = await db.prisma.maintenanceState.findFirst();
    expect(maintenance?.active ?? false).toBe(false);

    // And the next restore lands on the connections the failed one gave back (its pool, the whole file).
    const next = await recordRestore(db, { backupId });
    const result = await runRestore({ ...deps, pool: faulty.deps.pool }, next, { jobId: next });
    expect(Object.keys(result.restored)).toEqual(expect.arrayContaining(['users', 'loans']));
    expect(await tableHashes(db.pool, CORE)).toEqual(before);
  });
});
