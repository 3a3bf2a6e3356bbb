import { z } from 'zod';
import { AppError } from '../errors.js';

/** One thing wrong with a backup file, precise enough for a person to find it. */
export interface Problem {
  table?: string;
  /** 0-based index of the row in `data.<table>`. */
  row?: number;
  field?: string;
  problem: string;
}

/**
 * A problem as reported (error details, the Operation row's `result`, the job status): the
 * {@link Problem} and its one-line `message` (`data.loans[12].principal: …`).
 */
export const reportedProblemSchema = z.object({
  table: z.string().optional(),
  row: z.number().int().nonnegative().optional(),
  field: z.string().optional(),
  problem: z.string(),
  message: z.string(),
});
export type ReportedProblem = z.infer<typeof reportedProblemSchema>;

/** The details of an `INVALID_BACKUP_FILE` error, as a failed operation stores them in its `result`. */
export const problemListSchema = z.object({ problems: z.array(reportedProblemSchema) });

/** How many problems a failed validation reports; the first ones are what a person needs. */
export const MAX_PROBLEMS = 20;
/** The first problem is quoted in the one-line summary up to this many characters. */
const SUMMARY_PROBLEM_CHARS = 300;

export function formatProblem(p: Problem): string {
  const where = p.table
    ? `data.${p.table}${p.row !== undefined ? `[${p.row}]` : ''}${p.field ? `.${p.field}` : ''}`
    : (p.field ?? 'file');
  return `${where}: ${p.problem}`;
}

/** One line, bounded: PostgreSQL's messages can span lines, and a quoted value can be huge. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * The error a failed validation ends with. Its message is ONE line, the same shape every time:
 * `The backup file is not valid; nothing was changed: 1 problem: <first>` or
 * `…: <n> problems, first: <first>`. The list itself is in `details.problems`
 * ({@link problemListSchema}, at most {@link MAX_PROBLEMS}), which is what a person reads to fix the file.
 */
export function invalidBackup(problems: Problem[]): AppError {
  const shown = problems.slice(0, MAX_PROBLEMS);
  const first = shown[0] ? oneLine(formatProblem(shown[0]), SUMMARY_PROBLEM_CHARS) : 'no details';
  const count = problems.length === 1 ? '1 problem:' : `${problems.length} problems, first:`;
  return new AppError('INVALID_BACKUP_FILE', `The backup file is not valid; nothing was changed: ${count} ${first}`, {
    problems: shown.map((p) => ({ ...p, message: formatProblem(p) })),
  });
}
