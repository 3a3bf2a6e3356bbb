import { z } from 'zod';

/**
 * The backup file format this code writes (docs/backup-format.md). Readers accept every version in
 * {@link READABLE_FORMATS}; 1.1 differs from 1.0 only in how json/jsonb values are written.
 */
export const FORMAT_VERSION = '1.1';

/** Every format this product ever wrote, oldest first: all of them stay restorable. */
export const READABLE_FORMATS: readonly string[] = ['1.0', '1.1'];

export type BackupTableKey =
  | 'users'
  | 'unions'
  | 'unionMembers'
  | 'loanTypes'
  | 'loans'
  | 'repayments'
  | 'auditLogs'
  | 'sessions';

export interface BackupTable {
  /** Key under `data` in the file (the Prisma model's plural camelCase name). */
  key: BackupTableKey;
  /** PostgreSQL table in the public schema. */
  table: string;
  /** Present only when this export option is on. */
  option?: 'includeAuditLogs' | 'includeSessions';
}

/**
 * Every table a backup can hold, parents before children, so a file read front to back never
 * meets a row whose parent is still to come. Columns are not listed: they are read from the
 * catalog, so a migration that adds a column needs no change here.
 */
export const BACKUP_TABLES: readonly BackupTable[] = [
  { key: 'users', table: 'users' },
  { key: 'unions', table: 'unions' },
  { key: 'unionMembers', table: 'union_members' },
  { key: 'loanTypes', table: 'loan_types' },
  { key: 'loans', table: 'loans' },
  { key: 'repayments', table: 'repayments' },
  { key: 'auditLogs', table: 'audit_logs', option: 'includeAuditLogs' },
  { key: 'sessions', table: 'sessions', option: 'includeSessions' },
];

export interface BackupOptions {
  includeAuditLogs: boolean;
  includeSessions: boolean;
}

/** The tables a backup with `options` contains, in file order. */
export function tablesFor(options: BackupOptions): BackupTable[] {
  return BACKUP_TABLES.filter((t) => !t.option || options[t.option]);
}

export function tableByKey(key: string): BackupTable | undefined {
  return BACKUP_TABLES.find((t) => t.key === key);
}

/** A backup table key (`unionMembers`) in stored JSON: one of {@link BACKUP_TABLES}. */
export const backupTableKeySchema = z.custom<BackupTableKey>((v) => typeof v === 'string' && !!tableByKey(v), {
  message: 'not a backup table key',
});
