import { useEffect, useState } from 'preact/hooks';
import { call, get, toFailure, type Accepted, type Backup, type Failure, type JobStatus } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { OperationOutcome } from '../components/operation-outcome.js';
import { bytes, inExportOrder, tableName, when } from '../format.js';
import { LAST_RESTORE_KEY } from './undo.js';

// The restore being watched survives the logout a restore causes (a job id is not a secret).
const JOB_KEY = 'mp.console.restoreJob';
const DOMAIN_TABLES = ['users', 'unions', 'unionMembers', 'loanTypes', 'loans', 'repayments'];
const SELECTABLE_TABLES = [...DOMAIN_TABLES, 'auditLogs'];
const ENTITY_TYPES = [
  ['union', 'Union (with its members, their loans and repayments)'],
  ['unionMember', 'Union member (with their loans and repayments)'],
  ['loan', 'Loan (with its repayments)'],
  ['user', 'User'],
  ['loanType', 'Loan type'],
] as const;

type Mode = 'whole' | 'tables' | 'entity';

/**
 * Reads a backup file's `metadata.recordCounts` from its first line (how this product writes files), through
 * gzip when it is compressed, without reading the whole file. Null when the file is shaped otherwise.
 */
async function sniffCounts(file: File): Promise<Record<string, number> | null> {
  try {
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    let stream: ReadableStream<Uint8Array> = file.stream();
    if (head[0] === 0x1f && head[1] === 0x8b)
      stream = stream.pipeThrough(
        new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
      );
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
    const meta = (
      JSON.parse(first.endsWith('}') ? `${first}}` : first) as { metadata?: { recordCounts?: Record<string, number> } }
    ).metadata;
    return meta?.recordCounts ?? null;
  } catch {
    return null;
  }
}

/** What the confirmation names: the tables replaced (with the file's rows) and what else happens. */
function Replaces({
  counts,
  safety,
  selective,
}: {
  counts: Record<string, number> | null;
  safety: boolean;
  selective?: boolean;
}) {
  const tables = counts ? inExportOrder(Object.keys(counts)) : DOMAIN_TABLES;
  return (
    <>
      <p>
        These live tables are replaced by the file's contents
        {counts ? '' : ' (the tables the file holds; typically these)'}:
      </p>
      <ul class="counts">
        {tables.map((t) => (
          <li key={t}>
            {tableName(t)}
            {counts ? `: ${(counts[t] ?? 0).toLocaleString()} rows from the file` : ''}
          </li>
        ))}
      </ul>
      {selective && <p>The tables these depend on are replaced too; the result names them.</p>}
      <p>
        Tables not {selective === undefined ? 'in the file' : 'chosen'} keep their rows. Everyone is logged out where
        users change (you included). Maintenance mode is on meanwhile.
      </p>
      <p>
        <strong>
          The replaced tables are kept as a restore point: the restore can be undone (Undo) within its window.
        </strong>{' '}
        {safety
          ? 'A safety backup file (pre-restore) of the replaced data is written in the background.'
          : 'No safety backup file is written (the restore point is kept all the same).'}
      </p>
    </>
  );
}

/**
 * Restore from a stored backup or an uploaded file: the whole file, chosen tables (selective, optionally with
 * the tables they depend on) or one entity. Preview first (a read-only job: per table what would be added,
 * removed, changed, and the references that would break), then restore after a confirmation naming what changes.
 */
export function RestoreView({ query }: { query: URLSearchParams }) {
  const [source, setSource] = useState<'stored' | 'file'>('stored');
  const [backups, setBackups] = useState<Backup[]>([]);
  const [backupId, setBackupId] = useState(query.get('backup') ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [fileCounts, setFileCounts] = useState<Record<string, number> | null>(null);
  const [mode, setMode] = useState<Mode>('whole');
  const [tables, setTables] = useState<string[]>([]);
  const [withDependencies, setWithDependencies] = useState(false);
  const [entityType, setEntityType] = useState<string>('union');
  const [entityId, setEntityId] = useState('');
  const [skipSafetyBackup, setSkip] = useState(false);
  const [allowNoAdmin, setAllowNoAdmin] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Failure | null>(null);
  const [jobId, setJobId] = useState<string | null>(() => sessionStorage.getItem(JOB_KEY));
  const [previewJob, setPreviewJob] = useState<string | null>(null);

  useEffect(() => {
    get<{ items: Backup[] }>('/api/backup/list?limit=100')
      .then((p) => setBackups(p.items.filter((b) => b.status === 'completed' || b.status === 'partial')))
      .catch((e) => setError(toFailure(e)));
  }, []);
  useEffect(() => {
    setFileCounts(null);
    if (file) void sniffCounts(file).then(setFileCounts);
  }, [file]);

  const chosen = backups.find((b) => b.id === backupId) ?? null;
  const haveSource = source === 'stored' ? !!chosen : !!file;
  const ready = haveSource && (mode !== 'tables' || tables.length > 0) && (mode !== 'entity' || entityId.trim() !== '');
  const toggleTable = (t: string, on: boolean) =>
    setTables((prev) => (on ? inExportOrder([...prev, t]) : prev.filter((x) => x !== t)));

  /** The request body: JSON for a stored backup, multipart (fields before the file) for an upload. */
  const body = (kind: 'restore' | 'preview' | 'entity'): unknown => {
    const fields: Record<string, string | boolean | string[]> = {};
    if (mode === 'tables') {
      fields.tables = tables;
      fields.withDependencies = withDependencies;
    }
    if (mode === 'entity') {
      fields.entityType = entityType;
      fields.entityId = entityId.trim();
    }
    if (kind === 'restore') {
      fields.skipSafetyBackup = skipSafetyBackup;
      fields.allowNoAdmin = allowNoAdmin;
    }
    if (source === 'stored') return { backupId, ...fields };
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) {
      if (v === false) continue;
      form.append(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    form.append('file', file as File, (file as File).name);
    return form;
  };

  const preview = async () => {
    setError(null);
    setPreviewJob(null);
    try {
      const { data } = await call<Accepted>('POST', '/api/backup/restore/preview', body('preview'));
      setPreviewJob(data.jobId);
    } catch (err) {
      setError(toFailure(err));
    }
  };
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const entity = mode === 'entity';
      const { data } = await call<Accepted>(
        'POST',
        entity ? '/api/backup/restore/entity' : '/api/backup/restore',
        body(entity ? 'entity' : 'restore'),
      );
      sessionStorage.setItem(JOB_KEY, data.jobId);
      if (!entity) sessionStorage.setItem(LAST_RESTORE_KEY, data.operationId ?? data.jobId);
      setJobId(data.jobId);
    } catch (err) {
      setError(toFailure(err));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const finished = (s: JobStatus) => {
    if (s.state !== 'queued' && s.state !== 'running') sessionStorage.removeItem(JOB_KEY);
  };
  const name = source === 'stored' ? (chosen?.filename ?? 'this backup') : (file?.name ?? 'this file');
  const entityLabel = ENTITY_TYPES.find(([v]) => v === entityType)?.[0] ?? entityType;

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
            <input
              type="radio"
              name="source"
              value="stored"
              checked={source === 'stored'}
              onChange={() => setSource('stored')}
            />
            A stored backup
          </label>
          <label class="check">
            <input
              type="radio"
              name="source"
              value="file"
              checked={source === 'file'}
              onChange={() => setSource('file')}
            />
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
            <input
              type="file"
              name="file"
              accept=".json,.gz,application/json,application/gzip"
              required
              onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            />
          </label>
        )}
        <fieldset>
          <legend>What to restore</legend>
          <label class="check">
            <input
              type="radio"
              name="mode"
              value="whole"
              checked={mode === 'whole'}
              onChange={() => setMode('whole')}
            />
            Everything in the file
          </label>
          <label class="check">
            <input
              type="radio"
              name="mode"
              value="tables"
              checked={mode === 'tables'}
              onChange={() => setMode('tables')}
            />
            Only some tables (selective)
          </label>
          <label class="check">
            <input
              type="radio"
              name="mode"
              value="entity"
              checked={mode === 'entity'}
              onChange={() => setMode('entity')}
            />
            One deleted entity, with what hangs off it
          </label>
        </fieldset>
        {mode === 'tables' && (
          <fieldset>
            <legend>Tables to replace</legend>
            <div class="check-grid">
              {SELECTABLE_TABLES.map((t) => (
                <label key={t} class="check">
                  <input
                    type="checkbox"
                    name="tables"
                    value={t}
                    checked={tables.includes(t)}
                    onChange={(e) => toggleTable(t, e.currentTarget.checked)}
                  />
                  {tableName(t)}
                </label>
              ))}
            </div>
            <label class="check">
              <input
                type="checkbox"
                name="withDependencies"
                checked={withDependencies}
                onChange={(e) => setWithDependencies(e.currentTarget.checked)}
              />
              Also restore the tables they depend on (the result names the tables this adds)
            </label>
            <p class="hint">
              Without it, a restore that would leave rows pointing at missing rows is refused, and says which.
            </p>
          </fieldset>
        )}
        {mode === 'entity' && (
          <fieldset>
            <legend>Entity to bring back</legend>
            <label>
              Entity type
              <select name="entityType" value={entityType} onChange={(e) => setEntityType(e.currentTarget.value)}>
                {ENTITY_TYPES.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Entity id
              <input
                name="entityId"
                required
                placeholder="00000000-0000-0000-0000-000000000000"
                value={entityId}
                onInput={(e) => setEntityId(e.currentTarget.value)}
              />
            </label>
            <p class="hint">
              Only rows missing live are inserted; a live row is never overwritten (a difference is reported as a
              conflict). Nobody is logged out.
            </p>
          </fieldset>
        )}
        {mode !== 'entity' && (
          <fieldset>
            <legend>Options</legend>
            <label class="check">
              <input
                type="checkbox"
                name="skipSafetyBackup"
                checked={skipSafetyBackup}
                onChange={(e) => setSkip(e.currentTarget.checked)}
              />
              Skip the background safety file (the restore point for undo is kept anyway)
            </label>
            <label class="check">
              <input
                type="checkbox"
                name="allowNoAdmin"
                checked={allowNoAdmin}
                onChange={(e) => setAllowNoAdmin(e.currentTarget.checked)}
              />
              Restore even if the file has no usable admin (nobody could log in afterwards)
            </label>
          </fieldset>
        )}
        <Message error={error} />
        <div class="actions">
          <button type="button" class="secondary" disabled={!ready} onClick={preview}>
            Preview
          </button>
          <button type="submit" disabled={!ready || busy}>
            {mode === 'entity' ? 'Restore the entity…' : 'Restore…'}
          </button>
        </div>
      </form>
      {previewJob && (
        <JobProgress
          key={previewJob}
          jobId={previewJob}
          title="Preview (nothing changes)"
          render={(s) => <OperationOutcome status={s} />}
        />
      )}
      {jobId && (
        <JobProgress
          key={jobId}
          jobId={jobId}
          title={mode === 'entity' ? 'Entity restore' : 'Restore'}
          onFinish={finished}
          render={(s) => <OperationOutcome status={s} />}
        />
      )}
      {confirming && (
        <ConfirmDialog
          title={
            mode === 'entity'
              ? `Bring back ${entityLabel} ${entityId.trim()} from ${name}?`
              : `Replace ${mode === 'tables' ? 'these tables' : 'the live data'} with ${name}?`
          }
          confirmLabel={mode === 'entity' ? 'Insert what is missing' : 'Replace the data'}
          danger={mode !== 'entity'}
          busy={busy}
          onConfirm={start}
          onCancel={() => setConfirming(false)}
        >
          {mode === 'entity' ? (
            <p>
              The {entityLabel} and what hangs off it in the file are inserted where they are missing live, with the
              parents they need. Live rows are never changed; conflicts are listed afterwards. It runs in one
              transaction and writes an audit log entry.
            </p>
          ) : mode === 'tables' ? (
            <Replaces
              counts={Object.fromEntries(
                tables.map((t) => [t, (source === 'stored' ? chosen?.recordCounts : fileCounts)?.[t] ?? 0]),
              )}
              safety={!skipSafetyBackup}
              selective={withDependencies}
            />
          ) : (
            <Replaces
              counts={source === 'stored' ? (chosen?.recordCounts ?? null) : fileCounts}
              safety={!skipSafetyBackup}
            />
          )}
        </ConfirmDialog>
      )}
    </main>
  );
}
