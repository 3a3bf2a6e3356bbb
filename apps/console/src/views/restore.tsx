import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, get, type Accepted, type Backup, type JobStatus } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { bytes, inExportOrder, tableName, when } from '../format.js';

// The restore being watched survives the logout a restore causes (a job id is not a secret).
const JOB_KEY = 'mp.console.restoreJob';
const DOMAIN_TABLES = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments'];

/**
 * Reads a backup file's `metadata.recordCounts` from its first line (how this product writes files), through
 * gzip when it is compressed, without reading the whole file. Null when the file is shaped otherwise.
 */
async function sniffCounts(file: File): Promise<Record<string, number> | null> {
  try {
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    let stream: ReadableStream<Uint8Array> = file.stream();
    if (head[0] === 0x1f && head[1] === 0x8b) stream = stream.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.length < 1_000_000 && !text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    void reader.cancel();
    const first = text.split('\n')[0]?.trim().replace(/,$/, '') ?? '';
    const meta = (JSON.parse(first.endsWith('}') ? `${first}}` : first) as { metadata?: { recordCounts?: Record<string, number> } }).metadata;
    return meta?.recordCounts ?? null;
  } catch {
    return null;
  }
}

/** What the confirmation names: the tables replaced (with the file's rows) and what else happens. */
function Replaces({ counts, safety }: { counts: Record<string, number> | null; safety: boolean }) {
  const tables = counts ? inExportOrder(Object.keys(counts)) : DOMAIN_TABLES;
  return (
    <>
      <p>These live tables are replaced by the file's contents{counts ? '' : ' (the tables the file holds; typically these)'}:</p>
      <ul class="counts">
        {tables.map((t) => (
          <li key={t}>
            {tableName(t)}
            {counts ? `: ${(counts[t] ?? 0).toLocaleString()} rows from the file` : ''}
          </li>
        ))}
      </ul>
      <p>Tables not in the file keep their rows. Every session ends: everyone, you included, logs in again. Maintenance mode is on meanwhile.</p>
      <p>
        <strong>{safety ? 'A safety backup (pre-restore) of the current data is taken first.' : 'No safety backup is taken: the current data cannot be brought back.'}</strong>
      </p>
    </>
  );
}

/** Restore from a stored backup or an uploaded file, after a confirmation naming what is replaced; then its progress. */
export function RestoreView({ query }: { query: URLSearchParams }) {
  const [source, setSource] = useState<'stored' | 'file'>('stored');
  const [backups, setBackups] = useState<Backup[]>([]);
  const [backupId, setBackupId] = useState(query.get('backup') ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [fileCounts, setFileCounts] = useState<Record<string, number> | null>(null);
  const [skipSafetyBackup, setSkip] = useState(false);
  const [allowNoAdmin, setAllowNoAdmin] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(() => sessionStorage.getItem(JOB_KEY));

  useEffect(() => {
    get<{ items: Backup[] }>('/api/backup/list?limit=100')
      .then((p) => setBackups(p.items.filter((b) => b.status === 'completed' || b.status === 'partial')))
      .catch((e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    setFileCounts(null);
    if (file) void sniffCounts(file).then(setFileCounts);
  }, [file]);

  const chosen = backups.find((b) => b.id === backupId) ?? null;
  const ready = source === 'stored' ? !!chosen : !!file;

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      let body: unknown;
      if (source === 'stored') body = { backupId, skipSafetyBackup, allowNoAdmin };
      else {
        // Fields before the file: the API reads them as the upload streams in.
        const form = new FormData();
        if (skipSafetyBackup) form.append('skipSafetyBackup', 'true');
        if (allowNoAdmin) form.append('allowNoAdmin', 'true');
        form.append('file', file as File, (file as File).name);
        body = form;
      }
      const { data } = await call<Accepted>('POST', '/api/backup/restore', body);
      sessionStorage.setItem(JOB_KEY, data.jobId);
      setJobId(data.jobId);
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : (err as Error).message);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const finished = (s: JobStatus) => {
    if (s.state !== 'queued' && s.state !== 'running') sessionStorage.removeItem(JOB_KEY);
  };

  return (
    <main id="main">
      <h1>Restore</h1>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready) setConfirming(true);
        }}
      >
        <fieldset>
          <legend>Restore from</legend>
          <label class="check">
            <input type="radio" name="source" value="stored" checked={source === 'stored'} onChange={() => setSource('stored')} />
            A stored backup
          </label>
          <label class="check">
            <input type="radio" name="source" value="file" checked={source === 'file'} onChange={() => setSource('file')} />
            A file from this computer (.json or .json.gz)
          </label>
        </fieldset>
        {source === 'stored' ? (
          <label>
            Backup
            <select name="backupId" value={backupId} onChange={(e) => setBackupId(e.currentTarget.value)} required>
              <option value="">Choose a backup…</option>
              {backups.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.filename} · {when(b.createdAt)} · {bytes(b.fileSize)} · {b.type}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            Backup file
            <input type="file" name="file" accept=".json,.gz,application/json,application/gzip" required onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          </label>
        )}
        <fieldset>
          <legend>Options</legend>
          <label class="check">
            <input type="checkbox" name="skipSafetyBackup" checked={skipSafetyBackup} onChange={(e) => setSkip(e.currentTarget.checked)} />
            Skip the safety backup (not recommended)
          </label>
          <label class="check">
            <input type="checkbox" name="allowNoAdmin" checked={allowNoAdmin} onChange={(e) => setAllowNoAdmin(e.currentTarget.checked)} />
            Restore even if the file has no usable admin (nobody could log in afterwards)
          </label>
        </fieldset>
        <Message error={error} />
        <button type="submit" disabled={!ready || busy}>
          Restore…
        </button>
      </form>
      {jobId && <JobProgress key={jobId} jobId={jobId} title="Restore" onFinish={finished} />}
      {confirming && (
        <ConfirmDialog
          title={`Replace the live data with ${source === 'stored' ? (chosen?.filename ?? 'this backup') : (file?.name ?? 'this file')}?`}
          confirmLabel="Replace the data"
          danger
          busy={busy}
          onConfirm={start}
          onCancel={() => setConfirming(false)}
        >
          <Replaces counts={source === 'stored' ? (chosen?.recordCounts ?? null) : fileCounts} safety={!skipSafetyBackup} />
        </ConfirmDialog>
      )}
    </main>
  );
}
