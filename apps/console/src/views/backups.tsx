import { useCallback, useEffect, useState } from 'preact/hooks';
import { call, download, get, toFailure, type Accepted, type Backup, type Failure } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { bytes, inExportOrder, sum, tableName, when } from '../format.js';

interface Page {
  items: Backup[];
  nextCursor: string | null;
}

const STATUSES = ['', 'queued', 'running', 'completed', 'partial', 'failed'];
const TYPES = ['', 'manual', 'scheduled', 'pre-restore'];
const usable = (b: Backup) => b.status === 'completed' || b.status === 'partial';

function Counts({ counts }: { counts: Record<string, number> | null }) {
  if (!counts) return <>—</>;
  return (
    <details>
      <summary>{sum(counts).toLocaleString()} rows</summary>
      <ul class="counts">
        {inExportOrder(Object.keys(counts))
          .map((k) => [k, counts[k] ?? 0] as const)
          .map(([k, v]) => (
            <li key={k}>
              {tableName(k)}: {v.toLocaleString()}
            </li>
          ))}
      </ul>
    </details>
  );
}

/**
 * Pin (with its note), labels (each one a filter link) and the last read-back or verify: passed, or failed with
 * the failed checks in its tooltip and text. The backup's detail view shows the whole report.
 */
export function Extras({ b, onLabel }: { b: Backup; onLabel?: (filter: string) => void }) {
  const labels = Object.entries(b.labels ?? {});
  const verified = b.verificationSummary ?? b.verification ?? null;
  const failed = b.verificationSummary?.failed ?? [];
  const warnings = b.verificationSummary?.warnings ?? 0;
  if (!labels.length && !b.pinned && !verified) return null;
  return (
    <div class="extras">
      {b.pinned && (
        <span class="tag tag-pin" data-testid="pin">
          pinned{b.pinNote ? `: ${b.pinNote}` : ''}
        </span>
      )}
      {labels.map(([k, v]) =>
        onLabel ? (
          <button
            key={k}
            type="button"
            class="tag tag-button"
            onClick={() => onLabel(`${k}:${v}`)}
            title={`Show only backups labelled ${k}=${v}`}
          >
            {k}={v}
          </button>
        ) : (
          <span key={k} class="tag">
            {k}={v}
          </span>
        ),
      )}
      {verified && (
        <span
          class={`tag ${verified.ok ? 'tag-ok' : 'tag-bad'}`}
          data-testid="verification-summary"
          title={failed.join('\n') || undefined}
        >
          {verified.trigger === 'read-back' ? 'read-back' : 'verify'}{' '}
          {verified.ok ? 'passed' : `failed: ${failed.join('; ') || 'see details'}`}
          {warnings > 0 ? ` (${warnings.toLocaleString()} rule warnings)` : ''}
        </span>
      )}
    </div>
  );
}

/**
 * The backup list: newest first, filters, download, verify, restore (→ restore view) and delete with a confirmation.
 */
export function BackupsView() {
  const [status, setStatus] = useState('');
  const [type, setType] = useState('');
  const [label, setLabel] = useState('');
  // What is typed in the label filter; applied to the list once typing pauses.
  const [labelInput, setLabelInput] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setLabel(labelInput), 300);
    return () => clearTimeout(t);
  }, [labelInput]);
  const [pinned, setPinned] = useState('');
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Backup | null>(null);
  const [job, setJob] = useState<{ id: string; title: string } | null>(null);

  const load = useCallback(
    async (cursor?: string) => {
      const q = new URLSearchParams({ limit: '20' });
      if (status) q.set('status', status);
      if (type) q.set('type', type);
      if (label.trim()) q.set('label', label.trim());
      if (pinned) q.set('pinned', pinned);
      if (cursor) q.set('cursor', cursor);
      try {
        const next = await get<Page>(`/api/backup/list?${q}`);
        setPage((prev) =>
          cursor && prev ? { items: [...prev.items, ...next.items], nextCursor: next.nextCursor } : next,
        );
        setError(null);
      } catch (err) {
        setError(toFailure(err));
      }
    },
    [status, type, label, pinned],
  );
  useEffect(() => void load(), [load]);

  const act = async (what: () => Promise<unknown>, done?: string) => {
    setOk(null);
    setError(null);
    try {
      await what();
      if (done) setOk(done);
    } catch (err) {
      setError(toFailure(err));
    }
  };
  const remove = (b: Backup) =>
    act(async () => {
      await call('DELETE', `/api/backup/${b.id}`);
      setDeleting(null);
      await load();
    }, `Deleted ${b.filename}`);
  const verify = (b: Backup) =>
    act(async () => {
      const { data } = await call<Accepted>('POST', `/api/backup/${b.id}/verify`);
      setJob({ id: data.jobId, title: `Verifying ${b.filename}` });
    });

  return (
    <main id="main">
      <div class="heading">
        <h1>Backups</h1>
        <a class="button" href="#/create">
          New backup
        </a>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Label
          <input
            name="label"
            type="search"
            placeholder="reason:pre-migration"
            value={labelInput}
            onInput={(e) => setLabelInput(e.currentTarget.value)}
          />
        </label>
        <label>
          Pinned
          <select name="pinned" value={pinned} onChange={(e) => setPinned(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="true">pinned only</option>
            <option value="false">not pinned</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={() => load()}>
          Refresh
        </button>
      </form>
      <Message ok={ok} error={error} />
      {job && <JobProgress key={job.id} jobId={job.id} title={job.title} onFinish={() => void load()} />}
      {!page ? (
        <p aria-busy="true">Loading…</p>
      ) : page.items.length === 0 ? (
        <p>{status || type || label || pinned ? 'No backup matches these filters.' : 'No backups yet.'}</p>
      ) : (
        <table class="backups">
          <caption class="sr-only">Backups, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">Type</th>
              <th scope="col">Size</th>
              <th scope="col">Location</th>
              <th scope="col">Rows</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((b) => (
              <tr key={b.id} data-backup-id={b.id}>
                <td data-label="Created">
                  <span class="filename">{b.filename}</span>
                  <br />
                  <small>
                    {when(b.createdAt)}
                    {b.createdBy ? ` · ${b.createdBy}` : ''}
                  </small>
                  <Extras b={b} onLabel={setLabelInput} />
                </td>
                <td data-label="Status">
                  <span class={`badge badge-${b.status}`}>{b.status}</span>
                  {b.error && <small class="error-text">{b.error}</small>}
                </td>
                <td data-label="Type">{b.type}</td>
                <td data-label="Size">{bytes(b.fileSize)}</td>
                <td data-label="Location">{b.location}</td>
                <td data-label="Rows">
                  <Counts counts={b.recordCounts} />
                </td>
                <td data-label="Actions" class="row-actions">
                  <a class="button secondary" href={`#/backup?id=${b.id}`} aria-label={`Details of ${b.filename}`}>
                    Details
                  </a>
                  <button
                    type="button"
                    class="secondary"
                    disabled={!usable(b)}
                    onClick={() =>
                      act(() => download(`/api/backup/download/${b.id}`, b.filename), `Downloaded ${b.filename}`)
                    }
                    aria-label={`Download ${b.filename}`}
                  >
                    Download
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    disabled={!usable(b)}
                    onClick={() => verify(b)}
                    aria-label={`Verify ${b.filename}`}
                  >
                    Verify
                  </button>
                  <a
                    class={`button secondary${usable(b) ? '' : ' disabled'}`}
                    href={usable(b) ? `#/restore?backup=${b.id}` : undefined}
                    aria-disabled={!usable(b)}
                    aria-label={`Restore ${b.filename}`}
                  >
                    Restore…
                  </a>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => setDeleting(b)}
                    aria-label={`Delete ${b.filename}`}
                  >
                    Delete…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page?.nextCursor && (
        <button type="button" class="secondary" onClick={() => load(page.nextCursor ?? undefined)}>
          Load more
        </button>
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete this backup?"
          confirmLabel="Delete everywhere"
          danger
          onConfirm={() => remove(deleting)}
          onCancel={() => setDeleting(null)}
        >
          <p>
            <strong>{deleting.filename}</strong> ({bytes(deleting.fileSize)}, {deleting.location}) is removed from every
            location, then its record. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </main>
  );
}
