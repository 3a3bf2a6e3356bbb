import type pg from 'pg';
import { quoteIdent } from '../backup-format/catalog.js';
import type { BuiltTable } from './build.js';
import { publicTable, readConstraints, readOwnedSequences } from './keys.js';
import { reachFailpoint, type FailpointDeps } from '../failpoints.js';

/**
 * Swaps the staged tables in for the live ones in one short transaction, and deletes every
 * session (everyone logs in again). Either every table is replaced or, on any error, none is.
 *
 * The staged tables already carry the live names of their keys and indexes and their foreign
 * keys to each other, so the swap is catalog work: drop the live tables, move the staged ones to
 * `public`. Foreign keys from tables not in the file (sessions → users) are dropped and re-added;
 * serial sequences are kept (detached, then re-attached and moved past the restored ids).
 * Trap: the new tables belong to the role running the worker, which must own the live tables too.
 */
export async function swapIn(
  client: pg.PoolClient,
  schema: string,
  built: BuiltTable[],
  failpoints?: FailpointDeps,
  /** A selective restore that leaves the users as they are keeps everyone's sessions. */
  opts: { clearSessions: boolean } = { clearSessions: true },
): Promise<void> {
  const names = built.map((b) => b.table);
  await client.query('BEGIN');
  try {
    const external = (await readConstraints(client, names)).filter((c) => c.kind === 'f' && !names.includes(c.table));
    const sequences = (await Promise.all(names.map(async (table) => (await readOwnedSequences(client, table)).map((s) => ({ ...s, table }))))).flat();
    for (const fk of external) await client.query(`ALTER TABLE ${publicTable(fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
    for (const s of sequences) await client.query(`ALTER SEQUENCE ${s.sequence} OWNED BY NONE`);
    await client.query(`DROP TABLE ${names.map(publicTable).join(', ')}`);
    for (const table of names) await client.query(`ALTER TABLE ${quoteIdent(schema)}.${quoteIdent(table)} SET SCHEMA public`);
    if (opts.clearSessions) await client.query('DELETE FROM public.sessions');
    for (const fk of external) await client.query(`ALTER TABLE ${publicTable(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
    for (const s of sequences) {
      await client.query(`ALTER SEQUENCE ${s.sequence} OWNED BY ${publicTable(s.table)}.${quoteIdent(s.column)}`);
      // Next value after the largest id; `max + 1` would overflow at the type's end, and an empty
      // table (or only ids below the sequence's range) starts again at the sequence's minimum.
      await client.query(
        `SELECT setval($1, CASE WHEN m.v >= q.seqmin THEN m.v ELSE q.seqmin END, coalesce(m.v >= q.seqmin, false))
           FROM (SELECT max(${quoteIdent(s.column)}) AS v FROM ${publicTable(s.table)}) m, pg_sequence q
          WHERE q.seqrelid = $1::regclass`,
        [s.sequence],
      );
    }
    // Crash drills: every table moved, nothing committed; a kill here must leave the old tables live.
    await reachFailpoint(failpoints, 'restore.swap');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
