import type pg from 'pg';
import { isUsablePasswordHash } from '../auth/password.js';
import type { Problem } from './problems.js';
import { typedTable } from './staging-tables.js';

/** The problem of a file after which nobody could log in as an administrator. */
export const NO_ADMIN_PROBLEM: Problem = {
  table: 'users',
  problem: 'no active ADMIN with a usable password; after this restore nobody could log in',
};

/** Candidates read per query: a hostile file may hold millions of admins with unusable hashes. */
const BATCH = 500;

/**
 * Whether the staged `users` of a restore (in staging `schema`, built and keyed) leave at least one
 * active ADMIN whose password hash some password can match; `NO_ADMIN_PROBLEM` when not.
 * Reads only the staged table, so it runs before anything live is touched.
 * Usability is judged by `isUsablePasswordHash`, the function login relies on; SQL only narrows the
 * candidates to the hash formats a password can match (`scrypt$…` and PHC `$argon2id$…`), so the
 * demo data's `scrypt$disabled$…` placeholders cost one parse each, at most.
 */
export async function findAdminLockout(client: pg.PoolClient, schema: string): Promise<Problem | null> {
  let after = '';
  for (;;) {
    const { rows } = await client.query<{ id: string; hash: string }>(
      `SELECT id, "passwordHash" AS hash FROM ${typedTable(schema, 'users')}
        WHERE role = 'ADMIN' AND "isActive" AND ("passwordHash" LIKE 'scrypt$%' OR "passwordHash" LIKE
          '$argon2id$%') AND id > $1
        ORDER BY id LIMIT ${BATCH}`,
      [after],
    );
    if (rows.some((r) => isUsablePasswordHash(r.hash))) return null;
    if (rows.length < BATCH) return NO_ADMIN_PROBLEM;
    after = rows.at(-1)!.id;
  }
}
