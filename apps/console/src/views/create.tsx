import { useState } from 'preact/hooks';
import { call, download, toFailure, type Accepted, type Failure, type JobStatus } from '../api.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { bytes } from '../format.js';

/**
 * "reason=pre-migration, ticket=OPS-12" → { reason: 'pre-migration', ticket: 'OPS-12' }; a bare key gets an empty
 * value.
 */
function parseLabels(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .map((pair) => pair.trim())
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        return at < 0 ? [pair, ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      }),
  );
}

/**
 * POST /api/backup/create with its options (tables, location, compression) and labels, then a live progress bar per
 * table until it is done.
 */
export function CreateView() {
  const [includeAuditLogs, setAudit] = useState(false);
  const [includeSessions, setSessions] = useState(false);
  const [location, setLocation] = useState<'local' | 'cloud' | 'both'>('local');
  const [compression, setCompression] = useState<'gzip' | 'zstd'>('gzip');
  const [job, setJob] = useState<Accepted | null>(null);
  const [finished, setFinished] = useState<JobStatus | null>(null);
  const [labels, setLabels] = useState('');
  const [error, setError] = useState<Failure | string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFinished(null);
    try {
      const { data } = await call<Accepted>('POST', '/api/backup/create', {
        includeAuditLogs,
        includeSessions,
        location,
        compression,
        labels: parseLabels(labels),
      });
      setJob(data);
    } catch (err) {
      setError(toFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const result = finished?.result as { backupId?: string; filename?: string; fileSize?: number } | null | undefined;

  return (
    <main id="main">
      <h1>New backup</h1>
      <form class="card" onSubmit={submit}>
        <fieldset>
          <legend>Include</legend>
          <label class="check">
            <input
              type="checkbox"
              name="includeAuditLogs"
              checked={includeAuditLogs}
              onChange={(e) => setAudit(e.currentTarget.checked)}
            />
            Audit logs
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="includeSessions"
              checked={includeSessions}
              onChange={(e) => setSessions(e.currentTarget.checked)}
            />
            Sessions
          </label>
        </fieldset>
        <label>
          Location
          <select
            name="location"
            value={location}
            onChange={(e) => setLocation(e.currentTarget.value as typeof location)}
          >
            <option value="local">Local disk</option>
            <option value="cloud">Cloud (Cloudinary)</option>
            <option value="both">Both</option>
          </select>
        </label>
        <label>
          Compression
          <select
            name="compression"
            value={compression}
            onChange={(e) => setCompression(e.currentTarget.value as typeof compression)}
          >
            <option value="gzip">gzip (default, readable by any tool)</option>
            <option value="zstd">zstd (faster, smaller)</option>
          </select>
        </label>
        <label>
          Labels (optional)
          <input
            name="labels"
            placeholder="reason=pre-migration, ticket=OPS-12"
            value={labels}
            onInput={(e) => setLabels(e.currentTarget.value)}
            aria-describedby="labels-help"
          />
          <small id="labels-help">
            key=value pairs, separated by commas: shown in the list, and the list can filter by them.
          </small>
        </label>
        <Message error={error} />
        <button type="submit" disabled={busy}>
          Start backup
        </button>
      </form>
      {job && (
        <JobProgress key={job.jobId} jobId={job.jobId} title={`Backup ${job.filename ?? ''}`} onFinish={setFinished} />
      )}
      {result?.backupId && (
        <p class="ok" role="status">
          Backup written: {result.filename} ({bytes(result.fileSize ?? null)}).{' '}
          <button
            type="button"
            class="link"
            onClick={() =>
              download(`/api/backup/download/${result.backupId}`, result.filename ?? 'backup.json').catch((e: Error) =>
                setError(e.message),
              )
            }
          >
            Download it
          </button>{' '}
          or <a href="#/backups">see all backups</a>.
        </p>
      )}
    </main>
  );
}
