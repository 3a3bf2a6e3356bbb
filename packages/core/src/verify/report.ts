import { z } from 'zod';
import type { CopyLocation } from '../backups/copies.js';
import { INVARIANT_CODES, type InvariantWarning } from './business-invariants.js';

/**
 * The checks a copy goes through, in order. A check that did not run is absent, never `ok: true`.
 * `content` stands for the content checks (`decrypt` to `counts`) of a copy that has the same bytes as another
 * copy checked in full, and carries that copy's outcome (the export's read-back, `readBackCopies`).
 */
export type CheckName =
  | 'readable'
  | 'size'
  | 'checksum'
  | 'content'
  | 'decrypt'
  | 'decompress'
  | 'parse'
  | 'metadata'
  | 'counts'
  | 'rows'
  | 'references';

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

const checkNames = [
  'readable',
  'size',
  'checksum',
  'content',
  'decrypt',
  'decompress',
  'parse',
  'metadata',
  'counts',
  'rows',
  'references',
] as const satisfies readonly CheckName[];

/** {@link VerifyReport} as stored in `BackupRecord.verification` (JSON), for reading it back. */
export const verifyReportSchema: z.ZodType<VerifyReport> = z.object({
  ok: z.boolean(),
  checkedAt: z.string(),
  trigger: z.enum(['read-back', 'verify']),
  copies: z.array(
    z.object({
      copy: z.enum(['local', 'cloud']),
      ok: z.boolean(),
      checks: z.array(z.object({ name: z.enum(checkNames), ok: z.boolean(), details: z.string().optional() })),
    }),
  ),
  references: z.enum(['checked', 'skipped']),
  invariants: z.enum(['snapshot', 'file', 'not-run']),
  warnings: z.array(
    z.object({
      rule: z.enum(INVARIANT_CODES),
      message: z.string(),
      table: z.enum(['loans', 'repayments', 'unions', 'users']),
      count: z.number(),
      examples: z.array(z.string()),
    }),
  ),
  problems: z.array(z.string()),
  durationMs: z.number().optional(),
});

/**
 * The verdict of a stored report or job result (`{ ok, … }` JSON: `BackupRecord.verification`, a drill's
 * `Operation.result`): its boolean `ok`, or undefined when there is none.
 */
const storedVerdictSchema = z.object({ ok: z.boolean() });

export function verdictOf(stored: unknown): boolean | undefined {
  return storedVerdictSchema.safeParse(stored).data?.ok;
}

/** What a list of backups shows of a record's last verification (`BackupRecord.verification`). */
export interface VerificationSummary {
  ok: boolean;
  trigger: VerifyReport['trigger'];
  checkedAt: string;
  /** The failed checks, one line each (`local copy: checksum: …`), the first five. */
  failed: string[];
  /** How many rows break business rules (warnings, never failures). */
  warnings: number;
}

const storedReportSchema = z.object({
  ok: z.boolean(),
  trigger: z.enum(['read-back', 'verify']).catch('verify'),
  checkedAt: z.string().catch(''),
  copies: z
    .array(
      z.object({
        copy: z.string(),
        checks: z.array(z.object({ name: z.string(), ok: z.boolean(), details: z.string().optional() })).catch([]),
      }),
    )
    .catch([]),
  warnings: z.array(z.object({ count: z.number() })).catch([]),
});

/** The summary of a stored verify report, or null when there is none (or it is not one). */
export function summarizeVerification(stored: unknown, verifiedAt: Date | null): VerificationSummary | null {
  const parsed = storedReportSchema.safeParse(stored);
  if (!parsed.success) return null;
  const r = parsed.data;
  const failed = r.copies.flatMap((c) => failuresOf(c as CopyReport));
  return {
    ok: r.ok,
    trigger: r.trigger,
    checkedAt: r.checkedAt || (verifiedAt?.toISOString() ?? ''),
    failed: failed.slice(0, 5),
    warnings: r.warnings.reduce((sum, w) => sum + w.count, 0),
  };
}

export function toReportWarnings(warnings: InvariantWarning[]): InvariantReportWarning[] {
  return warnings.map((w) => ({
    rule: w.code,
    message: w.message,
    table: w.table,
    count: w.count,
    examples: w.examples,
  }));
}

/** The failed checks of `copy`, one line each: `local copy: checksum: …`. */
export function failuresOf(copy: CopyReport): string[] {
  return copy.checks
    .filter((c) => !c.ok)
    .map((c) => `${copy.copy} copy: ${c.name}${c.details ? `: ${c.details}` : ''}`);
}

/** Builds the report from its copies; `ok` and `problems` follow from them. */
export function buildReport(input: Omit<VerifyReport, 'ok' | 'problems' | 'checkedAt'>): VerifyReport {
  const problems = input.copies.flatMap(failuresOf);
  const ok = input.copies.length > 0 && input.copies.every((c) => c.ok);
  return { ok, checkedAt: new Date().toISOString(), ...input, problems };
}
