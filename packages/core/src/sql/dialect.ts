import type pg from 'pg';
import type { Prisma } from '@mp/db';

/**
 * The dialect seam: the statements the service relies on that are PostgreSQL's own, one function per capability,
 * named for what it does. Everything else the service sends is portable SQL. The README section "The database:
 * PostgreSQL versions, managed and distributed engines" names what replaces each on CockroachDB; the doc comment
 * of each function says it in short. This is PostgreSQL's implementation, the only one: CockroachDB cannot run on
 * the machines this project is built on, so no second implementation exists that no test could check.
 */

/** Anything that runs a query: a pool, a pooled client or a client. */
export interface SqlRunner {
  // biome-ignore lint/suspicious/noExplicitAny: pg's own result row type
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * An advisory lock key: a number (one 64-bit key), a name (one key, `hashtext(name)`), or a key space and a name
 * (two 32-bit keys: `space, hashtext(name)`).
 */
export type LockKey = number | bigint | string | readonly [space: number, name: string];

function lockArgs(key: LockKey): { sql: string; values: unknown[] } {
  if (typeof key === 'string') return { sql: 'hashtext($1)', values: [key] };
  if (typeof key === 'object') return { sql: '$1, hashtext($2)', values: [key[0], key[1]] };
  return { sql: '$1', values: [key] };
}

/**
 * Takes a session-level advisory lock if it is free (`pg_try_advisory_lock`); it dies with the connection.
 * CockroachDB: no advisory locks; a lease row (owner, expiry, renewed by the worker).
 */
export async function tryLockForSession(client: SqlRunner, key: LockKey): Promise<boolean> {
  const { sql, values } = lockArgs(key);
  const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${sql}) AS ok`, values);
  return rows[0]?.ok === true;
}

/**
 * Waits for a session-level advisory lock (`pg_advisory_lock`).
 * CockroachDB: no advisory locks; a lease row (owner, expiry, renewed by the worker).
 */
export async function lockForSession(client: SqlRunner, key: LockKey): Promise<void> {
  const { sql, values } = lockArgs(key);
  await client.query(`SELECT pg_advisory_lock(${sql})`, values);
}

/**
 * Releases a session-level advisory lock (`pg_advisory_unlock`).
 * CockroachDB: delete (or expire) the lease row.
 */
export async function unlockForSession(client: SqlRunner, key: LockKey): Promise<void> {
  const { sql, values } = lockArgs(key);
  await client.query(`SELECT pg_advisory_unlock(${sql})`, values);
}

/**
 * Returns a connection's session to how a new one starts (`DISCARD ALL`): temporary tables, session settings,
 * prepared statements and advisory locks are dropped. Outside a transaction only (after a `ROLLBACK`). For a
 * connection a failed run may have left anything on, before it goes back to its pool.
 * CockroachDB: `DISCARD ALL` too (no advisory locks or temporary tables to drop there).
 */
export async function discardSession(client: SqlRunner): Promise<void> {
  await client.query('DISCARD ALL');
}

/**
 * Inside an open transaction on `client`: waits for a transaction-level advisory lock (`pg_advisory_xact_lock`),
 * released at COMMIT or ROLLBACK.
 * CockroachDB: no advisory locks; `SELECT … FOR UPDATE` of a lock row in the same transaction.
 */
export async function lockForTransaction(client: SqlRunner, key: LockKey): Promise<void> {
  const { sql, values } = lockArgs(key);
  await client.query(`SELECT pg_advisory_xact_lock(${sql})`, values);
}

/**
 * Opens a transaction holding a transaction-level advisory lock, in one round trip
 * (`BEGIN; SELECT pg_advisory_xact_lock(key)`, sent as one simple query): for the API's hot paths. `shared`
 * holders do not wait for each other, only for an exclusive holder (and it for them).
 * CockroachDB: no advisory locks; `BEGIN`, then `SELECT … FOR UPDATE` (`FOR SHARE`) of a lock row.
 */
export async function beginHoldingLock(
  client: SqlRunner,
  key: number | bigint,
  mode: 'exclusive' | 'shared' = 'exclusive',
): Promise<void> {
  const lock = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await client.query(`BEGIN; SELECT ${lock}(${BigInt(key)})`);
}

/**
 * {@link lockForTransaction} inside a Prisma interactive transaction.
 * CockroachDB: no advisory locks; `SELECT … FOR UPDATE` of a lock row in the same transaction.
 */
export async function lockForPrismaTransaction(tx: Prisma.TransactionClient, key: number | bigint): Promise<void> {
  await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${key})`;
}

/**
 * Opens a read-only transaction whose every statement sees one snapshot (`REPEATABLE READ READ ONLY`).
 * CockroachDB: `BEGIN AS OF SYSTEM TIME '-1s'` (SERIALIZABLE is its only isolation).
 */
export async function beginReadOnlySnapshot(client: SqlRunner): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
}

/**
 * Creates a table for bulk loading that skips the write-ahead log (`CREATE UNLOGGED TABLE`): `name` is quoted,
 * `columns` the column list's SQL.
 * CockroachDB: a plain `CREATE TABLE` (every table is replicated and logged there).
 */
export async function createUnloggedTable(client: SqlRunner, name: string, columns: string): Promise<void> {
  await client.query(`CREATE UNLOGGED TABLE ${name} (${columns})`);
}

/**
 * The `COPY … FROM STDIN` statement (text format) that loads rows already frozen (`FREEZE`: the table was created
 * or truncated in the same transaction, so no later vacuum rewrites it). `table` is quoted, `columns` the list.
 * CockroachDB: the same `COPY … FROM STDIN` without `FREEZE`, or `IMPORT INTO` from a file.
 */
export function copyFrozenFromStdin(table: string, columns: string): string {
  return `COPY ${table} (${columns}) FROM STDIN WITH (FORMAT text, FREEZE)`;
}

/**
 * Moves a table into another schema (`ALTER TABLE … SET SCHEMA`), transactional and instant: the restore's
 * swap and its restore point. `table` is quoted and qualified, `schema` quoted.
 * CockroachDB: schema changes are background jobs, not atomic across tables; restore into a new database and
 * swap by `ALTER DATABASE … RENAME`, or `RESTORE TABLE … WITH into_db`.
 */
export async function moveTableToSchema(client: SqlRunner, table: string, schema: string): Promise<void> {
  await client.query(`ALTER TABLE ${table} SET SCHEMA ${schema}`);
}

/**
 * The statement triggers with transition tables (`REFERENCING NEW TABLE`) that feed the undo preview's write log:
 * insert, update, delete and truncate on `table` call `fn()`; `name(kind)` names each trigger.
 * CockroachDB: no statement triggers or transition tables; compare live rows with the restore point by primary key
 * and row hash (as the restore preview does), or read a changefeed.
 */
export function writeLogTriggerStatements(table: string, fn: string, name: (kind: string) => string): string[] {
  return [
    `CREATE TRIGGER ${name('i')} AFTER INSERT ON ${table} REFERENCING NEW TABLE AS n ` +
      `FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    `CREATE TRIGGER ${name('u')} AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS o NEW TABLE AS n ` +
      `FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    `CREATE TRIGGER ${name('d')} AFTER DELETE ON ${table} REFERENCING OLD TABLE AS o ` +
      `FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    `CREATE TRIGGER ${name('t')} BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
  ];
}

/**
 * Gathers planner statistics of `tables` (quoted, qualified) now (`ANALYZE`), instead of waiting for autovacuum.
 * CockroachDB: `CREATE STATISTICS` per table, or its automatic statistics.
 */
export async function analyzeTables(client: SqlRunner, tables: string[]): Promise<void> {
  await client.query(`ANALYZE ${tables.join(', ')}`);
}

/**
 * Builds each index with this connection alone (`SET max_parallel_maintenance_workers = 0`, for the session):
 * the restore runs several builders side by side and their parallel workers would only compete for the cores.
 * CockroachDB: not needed; index builds are distributed jobs there.
 */
export async function buildIndexesSerially(client: SqlRunner): Promise<void> {
  await client.query('SET max_parallel_maintenance_workers = 0');
}

/**
 * Lets PostgreSQL give the next index builds on this connection up to `workers` parallel workers
 * (`SET max_parallel_maintenance_workers`; 0 is {@link buildIndexesSerially}): for builds that would
 * otherwise leave a core idle. It decides the number from the table's size.
 * CockroachDB: not needed (see {@link buildIndexesSerially}).
 */
export async function allowIndexBuildWorkers(client: SqlRunner, workers: number): Promise<void> {
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`invalid worker count ${workers}`);
  await client.query(`SET max_parallel_maintenance_workers = ${workers}`);
}

/** Undoes {@link buildIndexesSerially} on a connection going back to the pool (`RESET`). */
export async function resetIndexBuildParallelism(client: SqlRunner): Promise<void> {
  await client.query('RESET max_parallel_maintenance_workers');
}

/**
 * For the rest of the transaction, resolves unqualified names in `schema` first, then `public`
 * (`SET LOCAL search_path`). `schema` is quoted.
 * CockroachDB: the same statement (supported; the schema must live in the current database).
 */
export async function searchSchemaFirst(client: SqlRunner, schema: string): Promise<void> {
  await client.query(`SET LOCAL search_path = ${schema}, public`);
}

/**
 * Inside an open transaction: blocks every other writer of `tables` (quoted, qualified) until it ends, readers
 * go on (`LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE`).
 * CockroachDB: no `LOCK TABLE`; SERIALIZABLE transactions with a retry on `40001`.
 */
export async function blockWritersOf(client: SqlRunner, tables: string[]): Promise<void> {
  await client.query(`LOCK TABLE ${tables.join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
}

/**
 * Inside an open transaction: stops `tables` (quoted, qualified) being altered or dropped until it ends, without
 * blocking any reader or writer (`LOCK TABLE … IN ACCESS SHARE MODE`).
 * CockroachDB: not needed; a historical read (`AS OF SYSTEM TIME`) sees the tables as they were.
 */
export async function holdTablesAgainstDrop(client: SqlRunner, tables: string[]): Promise<void> {
  await client.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS SHARE MODE`);
}

/**
 * Disk use of the tables of `schema`, their indexes and TOAST included (`pg_total_relation_size`), in bytes.
 * CockroachDB: `SHOW RANGES` / `crdb_internal` span statistics (approximate).
 */
export async function schemaDiskBytes(client: SqlRunner, schema: string): Promise<bigint> {
  const { rows } = await client.query<{ bytes: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [schema],
  );
  return BigInt(rows[0]?.bytes ?? '0');
}

/**
 * A SQL expression: a 64-bit hash of the text `expr`, seeded by the bigint parameter `seed` (e.g. `$1`)
 * (`hashtextextended`, PostgreSQL 11 and later). The business invariants weigh amounts by it to compare per-loan
 * sums without grouping.
 * CockroachDB: no `hashtextextended`; `fnv64a(concat(<seed>::STRING, <expr>))`.
 */
export function seededHash64Sql(expr: string, seed: string): string {
  return `hashtextextended(${expr}, ${seed})`;
}
