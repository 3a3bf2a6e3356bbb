import { AppError } from '../errors.js';

/** One thing wrong with a backup file, precise enough for a person to find it. */
export interface Problem {
  table?: string;
  /** 0-based index of the row in `data.<table>`. */
  row?: number;
  field?: string;
  problem: string;
}

/** How many problems a failed validation reports; the first ones are what a person needs. */
export const MAX_PROBLEMS = 20;

export function formatProblem(p: Problem): string {
  const where = p.table ? `data.${p.table}${p.row !== undefined ? `[${p.row}]` : ''}${p.field ? `.${p.field}` : ''}` : 'file';
  return `${where}: ${p.problem}`;
}

/** The error a failed validation ends with: a summary message and the list of problems. */
export function invalidBackup(problems: Problem[]): AppError {
  const shown = problems.slice(0, MAX_PROBLEMS);
  const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
  return new AppError(
    'INVALID_BACKUP_FILE',
    `The backup file is not valid; nothing was changed. ${shown.length} problem(s)${more}: ${shown.map(formatProblem).join('; ')}`,
    { problems: shown.map((p) => ({ ...p, message: formatProblem(p) })) },
  );
}
