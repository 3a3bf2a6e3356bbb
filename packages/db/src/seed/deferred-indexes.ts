import type pg from 'pg';

interface Definition {
  table: string;
  name: string;
  def: string;
}

/**
 * Runs `load` with the indexes, primary/unique keys and foreign keys of `tables` dropped, then
 * recreates each from its own catalog definition (`pg_get_indexdef` / `pg_get_constraintdef`), so the
 * schema ends exactly as it was. Building an index once by sorting and validating a foreign key with one
 * join is several times faster than maintaining them row by row (the pg_restore approach).
 *
 * Traps: must run inside the caller's transaction (DDL is transactional, so a failure anywhere restores
 * everything); it takes ACCESS EXCLUSIVE locks on `tables` (and on tables whose foreign keys point at
 * them) until commit; foreign keys are validated when recreated, so bad rows still fail the transaction.
 */
export async function withDeferredIndexes<T>(
  client: pg.PoolClient,
  tables: readonly string[],
  load: () => Promise<T>,
): Promise<T> {
  const foreignKeys = await definitions(
    client,
    `SELECT conrelid::regclass::text AS "table", quote_ident(conname) AS name, pg_get_constraintdef(oid) AS def
     FROM pg_constraint WHERE contype = 'f' AND (conrelid = ANY($1::regclass[]) OR confrelid = ANY($1::regclass[]))
     ORDER BY oid`,
    tables,
  );
  const keys = await definitions(
    client,
    `SELECT conrelid::regclass::text AS "table", quote_ident(conname) AS name, pg_get_constraintdef(oid) AS def
     FROM pg_constraint WHERE contype IN ('p', 'u', 'x') AND conrelid = ANY($1::regclass[]) ORDER BY oid`,
    tables,
  );
  const indexes = await definitions(
    client,
    `SELECT i.indrelid::regclass::text AS "table", i.indexrelid::regclass::text AS name,
      pg_get_indexdef(i.indexrelid) AS def
     FROM pg_index i
     WHERE i.indrelid = ANY($1::regclass[])
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                       WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
     ORDER BY i.indexrelid`,
    tables,
  );
  for (const fk of foreignKeys) await client.query(`ALTER TABLE ${fk.table} DROP CONSTRAINT ${fk.name}`);
  for (const key of keys) await client.query(`ALTER TABLE ${key.table} DROP CONSTRAINT ${key.name}`);
  for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);

  const result = await load();

  for (const key of keys) await client.query(`ALTER TABLE ${key.table} ADD CONSTRAINT ${key.name} ${key.def}`);
  for (const index of indexes) await client.query(index.def);
  for (const fk of foreignKeys) await client.query(`ALTER TABLE ${fk.table} ADD CONSTRAINT ${fk.name} ${fk.def}`);
  return result;
}

async function definitions(client: pg.PoolClient, sql: string, tables: readonly string[]): Promise<Definition[]> {
  const result = await client.query<Definition>(sql, [tables]);
  return result.rows;
}
