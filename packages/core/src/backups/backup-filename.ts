/**
 * `backup_<ISO time with - for : and .>_<first 8 characters of the record id>.json`, e.g.
 * `backup_2026-11-24T12-00-00-000Z_1f0c9a2b.json`. The id part is what keeps names distinct: concurrent
 * requests often share a millisecond, and two records with one name would write (and prune) one file.
 */
export function backupFilename(at: Date, recordId: string): string {
  return `backup_${at.toISOString().replace(/[:.]/g, '-')}_${recordId.slice(0, 8)}.json`;
}
