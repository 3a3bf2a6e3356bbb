import type { PgPool } from '@mp/db';

const DOMAIN = [
  'users',
  'unions',
  'union_members',
  'loan_types',
  'loans',
  'repayments',
  'audit_logs',
  'sessions',
] as const;

/**
 * A content hash per domain table (md5 of every row's text form in primary-key order) plus its
 * row count. Two databases with equal hashes hold the same rows, value for value.
 */
export async function tableHashes(
  pool: PgPool,
  tables: readonly string[] = DOMAIN,
): Promise<Record<string, { rows: number; md5: string }>> {
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const table of tables) {
    const { rows } = await pool.query<{ n: string; md5: string | null }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) AS md5 FROM public."` +
        `${table}" t`,
    );
    out[table] = { rows: Number(rows[0]!.n), md5: rows[0]!.md5 ?? '' };
  }
  return out;
}
