import cliProgress from 'cli-progress';
import type { ApiClient } from './api.js';
import { CliError, EXIT } from './exit-codes.js';

/** The job status the API answers at GET /api/backup/jobs/:jobId. */
export interface JobStatus {
  jobId: string;
  kind: string;
  state: string;
  progress: { percent?: number; stage?: string; table?: string; rows?: number } | null;
  result: Record<string, unknown> | null;
  error: string | null;
  problems: unknown[] | null;
}

const FINAL = new Set(['completed', 'failed', 'partial']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the job until it is final, showing a progress bar on an interactive terminal (a line per stage
 * otherwise). A restore logs everyone out, this CLI included: a 401 after the job started means "done
 * with the session", so the last known state is read again after `relogin` when given, else reported.
 */
export async function watchJob(
  api: ApiClient,
  jobId: string,
  opts: { quiet: boolean; intervalMs?: number; stream?: NodeJS.WriteStream },
): Promise<JobStatus> {
  const stream = opts.stream ?? process.stderr;
  const bar =
    !opts.quiet && stream.isTTY
      ? new cliProgress.SingleBar(
          { format: '{bar} {percentage}% | {stage}', stream, hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let lastStage = '';
  bar?.start(100, 0, { stage: 'queued' });
  try {
    for (;;) {
      const status = await api.json<JobStatus>('GET', `/api/backup/jobs/${encodeURIComponent(jobId)}`);
      const percent = Math.max(0, Math.min(100, Math.round(status.progress?.percent ?? 0)));
      const stage = [status.progress?.stage ?? status.state, status.progress?.table].filter(Boolean).join(' ');
      if (bar) bar.update(percent, { stage });
      else if (!opts.quiet && stage !== lastStage) stream.write(`${percent}% ${stage}\n`);
      lastStage = stage;
      if (FINAL.has(status.state)) {
        if (bar) bar.update(status.state === 'completed' ? 100 : percent, { stage: status.state });
        return status;
      }
      await sleep(opts.intervalMs ?? 500);
    }
  } finally {
    bar?.stop();
  }
}

/** Exit code for a final job, and a message when it did not complete. */
export function judgeJob(status: JobStatus): void {
  if (status.state === 'completed') return;
  const problems = Array.isArray(status.problems) ? status.problems : [];
  const lines = problems.slice(0, 20).map((p) => {
    if (p && typeof p === 'object') {
      const { message, problem } = p as Record<string, unknown>;
      return `  - ${String(message ?? problem ?? JSON.stringify(p))}`;
    }
    return `  - ${String(p)}`;
  });
  if (problems.length > lines.length) lines.push(`  … and ${problems.length - lines.length} more`);
  const message = [`Job ${status.jobId} ${status.state}: ${status.error ?? 'no reason given'}`, ...lines].join('\n');
  throw new CliError(message, status.state === 'partial' ? EXIT.PARTIAL : EXIT.JOB_FAILED, { problems });
}
