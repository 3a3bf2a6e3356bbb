import { useCallback, useEffect, useState } from 'preact/hooks';
import { call, get, toFailure, type Accepted, type Failure, type RestoreSummary, type UndoPreview } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { bytes, tableName, when } from '../format.js';

/**
 * The last restore started from this tab (its operation id), so Undo can offer it after the logout a restore causes.
 */
export const LAST_RESTORE_KEY = 'mp.console.lastRestore';
const UNDO_JOB_KEY = 'mp.console.undoJob';

/** Rows written since the restore, per table: what an undo discards. */
function Discards({ p }: { p: UndoPreview }) {
  if (p.tables.length === 0) return <p>No restore point is kept, so there is nothing to compare.</p>;
  return (
    <table data-testid="undo-discards">
      <caption class="caption-left">
        An undo discards <strong data-testid="undo-written">{p.written.toLocaleString()}</strong> row change
        {p.written === 1 ? '' : 's'} written since the restore:
      </caption>
      <thead>
        <tr>
          <th scope="col">Table</th>
          <th scope="col">Inserted</th>
          <th scope="col">Updated</th>
          <th scope="col">Deleted</th>
        </tr>
      </thead>
      <tbody>
        {p.tables.map((t) => (
          <tr key={t.table} data-table={t.table} class={t.written > 0 ? 'row-bad' : ''}>
            <th scope="row" data-label="Table">
              {tableName(t.table)}
            </th>
            <td data-label="Inserted">{t.inserted.toLocaleString()}</td>
            <td data-label="Updated">{t.updated.toLocaleString()}</td>
            <td data-label="Deleted">{t.deleted.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The latest restores (GET /api/backup/restores): pick one to check; each says whether it can be undone. */
function RecentRestores({ onPick }: { onPick: (id: string) => void }) {
  const [items, setItems] = useState<RestoreSummary[] | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  useEffect(() => {
    get<{ items: RestoreSummary[] }>('/api/backup/restores?limit=10')
      .then((d) => setItems(d.items))
      .catch((err) => setError(toFailure(err)));
  }, []);
  if (error) return <Message error={error} />;
  if (!items) return <p aria-busy="true">Loading the latest restores…</p>;
  if (items.length === 0) return <p class="hint">No restore has run yet.</p>;
  return (
    <table data-testid="restores">
      <caption class="caption-left">Latest restores</caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Status</th>
          <th scope="col">What</th>
          <th scope="col">Undo</th>
        </tr>
      </thead>
      <tbody>
        {items.map((r) => (
          <tr key={r.id} data-restore-id={r.id}>
            <td data-label="Started">{when(r.createdAt)}</td>
            <td data-label="Status">{r.status}</td>
            <td data-label="What">
              {r.source === 'upload' ? 'uploaded file' : 'stored backup'}
              {r.tables ? `: ${r.tables.map(tableName).join(', ')}` : ', every table'}
            </td>
            <td data-label="Undo">
              {r.undoAvailable ? (
                <button type="button" class="secondary" onClick={() => onPick(r.id)}>
                  Check undo (until {when(r.undoUntil)})
                </button>
              ) : (
                <span class="hint">{r.undoRefusal}</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Undo a restore (GET …/undo first: whether it is possible, its window, the restore point's size and the rows it
 * would discard), or drop its restore point now. Both after a confirmation; the undo logs everyone out.
 */
export function UndoView({ query }: { query: URLSearchParams }) {
  const [opId, setOpId] = useState(query.get('op') ?? sessionStorage.getItem(LAST_RESTORE_KEY) ?? '');
  const [asked, setAsked] = useState(opId);
  const [p, setP] = useState<UndoPreview | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  const [confirm, setConfirm] = useState<'undo' | 'drop' | null>(null);
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<{ id: string; title: string } | null>(() => {
    const id = sessionStorage.getItem(UNDO_JOB_KEY);
    return id ? { id, title: 'Undo' } : null;
  });

  const load = useCallback(async (id: string) => {
    setError(null);
    setP(null);
    if (!id) return;
    try {
      setP(await get<UndoPreview>(`/api/backup/restore/${encodeURIComponent(id)}/undo`));
    } catch (err) {
      setError(toFailure(err));
    }
  }, []);
  useEffect(() => void load(asked), [asked, load]);

  const act = async () => {
    setBusy(true);
    setError(null);
    try {
      if (confirm === 'undo') {
        const { data } = await call<Accepted>('POST', `/api/backup/restore/${asked}/undo`);
        sessionStorage.setItem(UNDO_JOB_KEY, data.jobId);
        setJob({ id: data.jobId, title: 'Undo' });
      } else {
        const { data } = await call<Accepted>('DELETE', `/api/backup/restore/${asked}/restore-point`);
        setJob({ id: data.jobId, title: 'Dropping the restore point' });
      }
    } catch (err) {
      setError(toFailure(err));
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };

  return (
    <main id="main">
      <h1>Undo a restore</h1>
      <form
        class="card inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const id = opId.trim();
          if (id === asked) void load(id);
          else setAsked(id);
        }}
      >
        <label>
          Restore operation id
          <input
            name="operationId"
            required
            placeholder="the restore's job id"
            value={opId}
            onInput={(e) => setOpId(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="secondary">
          Check
        </button>
      </form>
      <p class="hint">A restore's operation id is its job id: the restore screen links here when it completes.</p>
      <RecentRestores
        onPick={(id) => {
          setOpId(id);
          if (id === asked) void load(id);
          else setAsked(id);
        }}
      />
      <Message error={error} />
      {p && (
        <section class="card" aria-labelledby="undo-title" data-testid="undo-preview">
          <h2 id="undo-title">{p.available ? 'This restore can be undone' : 'This restore cannot be undone'}</h2>
          {p.reason && <p class="warning">{p.reason}</p>}
          <dl class="facts">
            <dt>Window</dt>
            <dd>{p.undoUntil ? `until ${when(p.undoUntil)}` : '—'}</dd>
            <dt>Restore point</dt>
            <dd>
              {p.restorePoint.droppedAt
                ? `dropped ${when(p.restorePoint.droppedAt)}`
                : p.restorePoint.schema
                  ? `${bytes(p.restorePoint.bytes)} kept`
                  : 'none'}
            </dd>
          </dl>
          <Discards p={p} />
          <div class="actions">
            <button type="button" class="danger" disabled={!p.available} onClick={() => setConfirm('undo')}>
              Undo the restore…
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!p.restorePoint.schema || !!p.restorePoint.droppedAt}
              onClick={() => setConfirm('drop')}
            >
              Drop the restore point…
            </button>
          </div>
        </section>
      )}
      {job && (
        <JobProgress
          key={job.id}
          jobId={job.id}
          title={job.title}
          onFinish={(s) => {
            sessionStorage.removeItem(UNDO_JOB_KEY);
            if (s.state === 'completed') void load(asked);
          }}
        />
      )}
      {confirm && p && (
        <ConfirmDialog
          title={confirm === 'undo' ? 'Undo this restore?' : 'Drop the restore point?'}
          confirmLabel={
            confirm === 'undo'
              ? `Undo, discarding ${p.written.toLocaleString()} change${p.written === 1 ? '' : 's'}`
              : 'Drop it'
          }
          danger
          busy={busy}
          onConfirm={act}
          onCancel={() => setConfirm(null)}
        >
          {confirm === 'undo' ? (
            <>
              <p>The tables as they were before the restore are swapped back in, atomically.</p>
              <p>
                <strong>
                  {p.written === 0
                    ? 'Nothing was written since the restore: nothing is lost.'
                    : `${p.written.toLocaleString()} row change${p.written === 1 ? '' : 's'} written since the ` +
                      `restore ${p.written === 1 ? 'is' : 'are'} discarded (${p.tables
                        .filter((t) => t.written > 0)
                        .map((t) => `${tableName(t.table)} ${t.written}`)
                        .join(', ')}).`}
                </strong>
              </p>
              <p>Everyone, you included, is logged out.</p>
            </>
          ) : (
            <p>
              The kept tables ({bytes(p.restorePoint.bytes)}) are dropped now: this restore can no longer be undone.
            </p>
          )}
        </ConfirmDialog>
      )}
    </main>
  );
}
