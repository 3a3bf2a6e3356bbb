import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../backup-format/catalog.js';
import type { BuiltTable } from './build.js';
import { publicTable, readConstraints, readOwnedSequences } from './keys.js';
import { reachFailpoint, type FailpointDeps, type FailpointName } from '../failpoints.js';
import { dropTrackers, trackWrites } from './restore-point.js';
import { moveTableToSchema } from '../sql/dialect.js';

export interface SwapOptions {
  /**
   * Keep the replaced live tables in this new schema (a restore point, named after operation
   * `operationId`) instead of dropping them, and log the writes to the new live tables from then on.
   */
  retainIn?: { schema: string; operationId: string };
  /** Drop `schema` (what is left in it) in the same transaction: an undo consumes its restore point. */
  dropSource?: boolean;
  /** The crash-drill stop just before COMMIT (default `restore.swap`). */
  failpoint?: FailpointName;
  /** Delete every session (default): false for a selective restore that leaves the users as they are. */
  clearSessions?: boolean;
}

/**
 * Swaps the tables of `schema` in for the live ones in one short transaction, and deletes every
 * session (everyone logs in again) unless `options.clearSessions` is false. Either every table is replaced or, on any
 * error, none is.
 *
 * The incoming tables already carry the live names of their keys and indexes and their foreign
 * keys to each other, so the swap is catalog work: move the live tables out (into the restore point
 * `options.retainIn`, or drop them), move the incoming ones to `public`. Foreign keys from tables not
 * swapped (sessions → users) are dropped and re-added; foreign keys from swapped tables to tables not
 * swapped are taken off the retained tables (a restore point never blocks a write to live data) and
 * put on the incoming ones when they lack them; serial sequences are kept (detached, then
 * re-attached and moved past the incoming ids). The retained tables keep their keys, indexes and
 * the foreign keys between them, so an undo swaps them back the same way.
 * Trap: the new tables belong to the role running the worker, which must own the live tables too.
 */
export async function swapIn(
  client: pg.PoolClient,
  schema: string,
  built: Pick<BuiltTable, 'table'>[],
  failpoints?: FailpointDeps,
  options: SwapOptions = {},
): Promise<void> {
  const names = built.map((b) => b.table);
  const { retainIn } = options;
  await client.query('BEGIN');
  try {
    const constraints = await readConstraints(client, names);
    const external = constraints.filter((c) => c.kind === 'f' && !names.includes(c.table));
    const outbound = constraints.filter(
      (c) => c.kind === 'f' && names.includes(c.table) && c.refTable !== null && !names.includes(c.refTable),
    );
    const sequences = await readOwnedSequences(client, names);
    for (const fk of external)
      await client.query(`ALTER TABLE ${publicTable(fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
    for (const s of sequences) await client.query(`ALTER SEQUENCE ${s.sequence} OWNED BY NONE`);
    if (retainIn) {
      const point = quoteIdent(retainIn.schema);
      for (const fk of outbound)
        await client.query(`ALTER TABLE ${publicTable(fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
      await client.query(`CREATE SCHEMA ${point}`);
      // Whose it is, readable from the catalog alone (recovery decides from it whether this swap committed).
      await client.query(`COMMENT ON SCHEMA ${point} IS ${quoteLiteral(retainIn.operationId)}`);
      for (const table of names) await moveTableToSchema(client, publicTable(table), point);
      await dropTrackers(client, retainIn.schema, names);
    } else {
      await client.query(`DROP TABLE ${names.map(publicTable).join(', ')}`);
    }
    for (const table of names) await moveTableToSchema(client, `${quoteIdent(schema)}.${quoteIdent(table)}`, 'public');
    await dropTrackers(client, 'public', names);
    if (options.clearSessions !== false) await client.query('DELETE FROM public.sessions');
    for (const fk of external)
      await client.query(`ALTER TABLE ${publicTable(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
    if (outbound.length > 0) {
      const present = new Set((await readConstraints(client, names)).map((c) => `${c.table}.${c.name}`));
      for (const fk of outbound.filter((c) => !present.has(`${c.table}.${c.name}`))) {
        await client.query(`ALTER TABLE ${publicTable(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
      }
    }
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
    if (retainIn) await trackWrites(client, retainIn.schema, names);
    if (options.dropSource) await client.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    // Crash drills: every table moved, nothing committed; a kill here must leave the old tables live.
    await reachFailpoint(failpoints, options.failpoint ?? 'restore.swap');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
