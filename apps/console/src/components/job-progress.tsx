import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, type JobStatus } from '../api.js';
import { tableName } from '../format.js';
import { tableBars } from '../progress.js';
import { Problems } from './problems.js';

const FINAL = new Set(['completed', 'partial', 'failed']);
const POLL_MS = 1000;

/**
 * Watches GET /api/backup/jobs/:jobId once a second until the job is final: state, stage, overall percent,
 * a bar per table (backups), the one-line error and a refused restore's problems. `onFinish` runs once;
 * `render` shows what a finished job produced (a preview, a drill's recovery time, an entity restore's rows).
 */
export function JobProgress({
  jobId,
  title,
  onFinish,
  render,
}: {
  jobId: string;
  title: string;
  onFinish?: (s: JobStatus) => void;
  render?: (s: JobStatus) => ComponentChildren;
}) {
  const [status, setStatus] = useState<JobStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const finish = useRef(onFinish);
  finish.current = onFinish;

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const s = await get<JobStatus>(`/api/backup/jobs/${encodeURIComponent(jobId)}`);
        if (stopped) return;
        setStatus(s);
        setError(null);
        if (FINAL.has(s.state)) {
          finish.current?.(s);
          return;
        }
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
          setError(err.message);
          return;
        }
        setError(`Could not read the job's state (${(err as Error).message}); retrying…`);
      }
      timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [jobId]);

  const done = status?.state === 'completed' || status?.state === 'partial';
  const percent = status ? (status.progress.percent ?? (done ? 100 : 0)) : 0;
  // A finished backup reports its counts in the result; a fast one may finish before the first poll saw progress.
  const resultCounts = (status?.result as { recordCounts?: Record<string, number> } | null)?.recordCounts ?? null;
  const bars = status ? tableBars(status.progress, status.progress.counts ?? resultCounts, done) : null;
  return (
    <section
      class={`job job-${status?.state ?? 'loading'}`}
      aria-labelledby={`job-${jobId}`}
      data-job-id={jobId}
      data-state={status?.state ?? 'loading'}
    >
      <h3 id={`job-${jobId}`}>{title}</h3>
      <p class="job-state" aria-live="polite">
        <span class={`badge badge-${status?.state ?? 'queued'}`}>{status?.state ?? 'loading'}</span>
        {status?.progress.stage && !FINAL.has(status.state) ? ` ${status.progress.stage}` : ''}
        {status?.progress.table && !FINAL.has(status.state) ? ` · ${tableName(status.progress.table)}` : ''}
      </p>
      <label class="bar-label">
        Overall <span>{Math.round(percent)}%</span>
        <progress max={100} value={percent} aria-label={`${title}: ${Math.round(percent)} percent`} />
      </label>
      {bars && (
        <ul class="table-bars" aria-label="Progress per table">
          {bars.map((b) => (
            <li key={b.name} data-table={b.name}>
              <label class="bar-label">
                {tableName(b.name)}
                <span>
                  {b.rows.toLocaleString()} / {b.total.toLocaleString()}
                </span>
                <progress
                  max={Math.max(1, b.total)}
                  value={b.total === 0 && done ? 1 : b.rows}
                  aria-label={`${tableName(b.name)}: ${b.rows} of ${b.total} rows`}
                />
              </label>
            </li>
          ))}
        </ul>
      )}
      {status?.error && (
        <p class="error" role="alert">
          {status.error}
        </p>
      )}
      {status?.problems && status.problems.length > 0 && <Problems problems={status.problems} />}
      {status && FINAL.has(status.state) && status.result && render?.(status)}
      {error && <p class="warning">{error}</p>}
    </section>
  );
}
