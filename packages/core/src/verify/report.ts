import { z } from 'zod';
import type { CopyLocation } from '../backups/copies.js';
import type { InvariantWarning } from './business-invariants.js';

/** The checks a copy goes through, in order. A check that did not run is absent, never `ok: true`. */
export type CheckName = 'readable' | 'size' | 'checksum' | 'decrypt' | 'decompress' | 'parse' | 'metadata' | 'counts' | 'rows' | 'references';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  details?: string;
}

export interface CopyReport {
  copy: CopyLocation;
  ok: boolean;
  checks: CheckResult[];
}

/** A business rule broken by some rows (see `checkBusinessInvariants`): a warning, never a failure. */
export interface InvariantReportWarning {
  rule: InvariantWarning['code'];
  message: string;
  table: InvariantWarning['table'];
  count: number;
  examples: string[];
}

/**
 * What a verification found; kept on `BackupRecord.verification` (with `verifiedAt`).
 * - `ok`: every copy passed every check it ran (warnings never count).
 * - `trigger`: `read-back` (right after the backup was written) or `verify` (on demand).
 * - `references`: whether the references between rows were checked (`verify` only, and only when
 *   the rows loaded; a read-back skips them, so the `references` check is absent from its copies).
 * - `invariants`: where `warnings` come from: `snapshot` (the export's own transaction, the rows the
 *   file was written from), `file` (the rows staged from the file), or `not-run`.
 * - `problems`: one line per failed check, for readers of the earlier report shape.
 */
export interface VerifyReport {
  ok: boolean;
  checkedAt: string;
  trigger: 'read-back' | 'verify';
  copies: CopyReport[];
  references: 'checked' | 'skipped';
  invariants: 'snapshot' | 'file' | 'not-run';
  warnings: InvariantReportWarning[];
  problems: string[];
  /** How long the checks took (read-back: reading every copy back), for the benchmark. */
  durationMs?: number;
}

/**
 * The verdict of a stored report or job result (`{ ok, … }` JSON: `BackupRecord.verification`, a drill's
 * `Operation.result`): its boolean `ok`, or undefined when there is none.
 */
const storedVerdictSchema = z.object({ ok: z.boolean() });

export function verdictOf(stored: unknown): boolean | undefined {
  return storedVerdictSchema.safeParse(stored).data?.ok;
}

export function toReportWarnings(warnings: InvariantWarning[]): InvariantReportWarning[] {
  return warnings.map((w) => ({ rule: w.code, message: w.message, table: w.table, count: w.count, examples: w.examples }));
}

/** The failed checks of `copy`, one line each: `local copy: checksum: …`. */
export function failuresOf(copy: CopyReport): string[] {
  return copy.checks.filter((c) => !c.ok).map((c) => `${copy.copy} copy: ${c.name}${c.details ? `: ${c.details}` : ''}`);
}

/** Builds the report from its copies; `ok` and `problems` follow from them. */
export function buildReport(input: Omit<VerifyReport, 'ok' | 'problems' | 'checkedAt'>): VerifyReport {
  const problems = input.copies.flatMap(failuresOf);
  const ok = input.copies.length > 0 && input.copies.every((c) => c.ok);
  return { ok, checkedAt: new Date().toISOString(), ...input, problems };
}
