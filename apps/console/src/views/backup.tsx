import { useCallback, useEffect, useState } from 'preact/hooks';
import { call, get, toFailure, type Accepted, type BackupDetail, type Failure, type VerifyReport } from '../api.js';
import { DrillOutcome } from '../components/drill-outcome.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { bytes, inExportOrder, sum, tableName, when } from '../format.js';
import { Extras } from './backups.js';

/** The verification kept on the record: overall, each copy's checks, and the business-rule warnings. */
function Verification({ report }: { report: VerifyReport | null | undefined }) {
  if (!report)
    return (
      <p data-testid="verification">
        Not verified yet: a backup is read back right after it is written; Verify checks it again.
      </p>
    );
  return (
    <div data-testid="verification">
      <p class={report.ok ? 'ok' : 'error'}>
        {report.trigger === 'read-back' ? 'Read-back' : 'Verify'} {report.ok ? 'passed' : 'failed'} ·{' '}
        {when(report.checkedAt)}
      </p>
      {(report.copies ?? []).map((c) => (
        <table key={c.copy} class="checks">
          <caption>
            {c.copy} copy: {c.ok ? 'every check passed' : 'failed'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Result</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {c.checks.map((k) => (
              <tr key={k.name}>
                <td data-label="Check">{k.name}</td>
                <td data-label="Result">
                  <span class={`badge ${k.ok ? 'badge-completed' : 'badge-failed'}`}>{k.ok ? 'pass' : 'fail'}</span>
                </td>
                <td data-label="Details">{k.details ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {report.warnings && report.warnings.length > 0 && (
        <>
          <h3>Business-rule warnings ({report.invariants === 'file' ? 'from the file' : 'from the backed-up data'})</h3>
          <ul>
            {report.warnings.map((w) => (
              <li key={w.rule}>
                {w.message}
                {w.examples.length ? <small> (e.g. {w.examples.slice(0, 3).join(', ')})</small> : null}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** One backup (GET /api/backup/:id): its facts and verification, pin/unpin with a note, verify and drill. */
export function BackupView({ query }: { query: URLSearchParams }) {
  const id = query.get('id') ?? '';
  const [b, setB] = useState<BackupDetail | null>(null);
  const [note, setNote] = useState('');
  const [ok, setOk] = useState<string | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  const [job, setJob] = useState<{ id: string; title: string; kind: 'verify' | 'drill' } | null>(null);

  const load = useCallback(
    () => get<BackupDetail>(`/api/backup/${encodeURIComponent(id)}`).then(setB, (e) => setError(toFailure(e))),
    [id],
  );
  useEffect(() => void load(), [load]);

  const act = async (what: () => Promise<string | undefined>) => {
    setOk(null);
    setError(null);
    try {
      const done = await what();
      if (done) setOk(done);
    } catch (err) {
      setError(toFailure(err));
    }
  };
  const pin = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const { data, message } = await call<BackupDetail>('POST', `/api/backup/${id}/pin`, {
        note: note.trim() || null,
      });
      setB((prev) => (prev ? { ...prev, ...data } : prev));
      setNote('');
      return message ?? 'Pinned';
    });
  };
  const unpin = () =>
    act(async () => {
      const { data, message } = await call<BackupDetail>('POST', `/api/backup/${id}/unpin`);
      setB((prev) => (prev ? { ...prev, ...data } : prev));
      return message ?? 'Unpinned';
    });
  const start = (kind: 'verify' | 'drill') =>
    act(async () => {
      const { data } = await call<Accepted>('POST', `/api/backup/${id}/${kind}`);
      setJob({ id: data.jobId, kind, title: kind === 'verify' ? 'Verify' : 'Restore drill' });
      return undefined;
    });

  if (!b)
    return (
      <main id="main">
        <h1>Backup</h1>
        {error ? <Message error={error} /> : <p aria-busy="true">Loading…</p>}
      </main>
    );
  const usable = b.status === 'completed' || b.status === 'partial';
  return (
    <main id="main">
      <p>
        <a href="#/backups">← All backups</a>
      </p>
      <h1 class="filename-heading">{b.filename}</h1>
      <Extras b={b} />
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <span class={`badge badge-${b.status}`}>{b.status}</span>{' '}
          {b.error && <span class="error-text">{b.error}</span>}
        </dd>
        <dt>Type</dt>
        <dd>{b.type}</dd>
        <dt>Created</dt>
        <dd>
          {when(b.createdAt)}
          {b.createdBy ? ` by ${b.createdBy}` : ''}
        </dd>
        <dt>Size</dt>
        <dd>
          {bytes(b.fileSize)} · {b.location}
          {b.encryptionKeyId ? ` · encrypted (key ${b.encryptionKeyId})` : ''}
        </dd>
        <dt>Rows</dt>
        <dd>
          {sum(b.recordCounts).toLocaleString()}
          {b.recordCounts
            ? ` (${inExportOrder(Object.keys(b.recordCounts))
                .map((k) => `${tableName(k)} ${b.recordCounts![k]}`)
                .join(', ')})`
            : ''}
        </dd>
        {b.pinned && (
          <>
            <dt>Pinned</dt>
            <dd>
              {when(b.pinnedAt)}
              {b.pinnedBy ? ` by ${b.pinnedBy}` : ''}
              {b.pinNote ? `: “${b.pinNote}”` : ''}
            </dd>
          </>
        )}
      </dl>
      <section class="card" aria-labelledby="verification-title">
        <h2 id="verification-title">Verification</h2>
        <Verification report={b.verification} />
      </section>
      <section class="card" aria-labelledby="actions-title">
        <h2 id="actions-title">Actions</h2>
        {b.pinned ? (
          <p>
            Retention never deletes a pinned backup.{' '}
            <button type="button" class="secondary" onClick={unpin}>
              Unpin
            </button>
          </p>
        ) : (
          <form class="inline-form" onSubmit={pin}>
            <label>
              Pin note (optional)
              <input
                name="pinNote"
                maxLength={500}
                placeholder="before the 2026 migration"
                value={note}
                onInput={(e) => setNote(e.currentTarget.value)}
              />
            </label>
            <button type="submit">Pin</button>
          </form>
        )}
        <div class="actions">
          <button type="button" class="secondary" disabled={!usable} onClick={() => start('verify')}>
            Verify now
          </button>
          <button type="button" class="secondary" disabled={!usable} onClick={() => start('drill')}>
            Run a restore drill
          </button>
          <a
            class={`button secondary${usable ? '' : ' disabled'}`}
            href={usable ? `#/restore?backup=${b.id}` : undefined}
            aria-disabled={!usable}
          >
            Preview or restore…
          </a>
        </div>
      </section>
      <Message ok={ok} error={error} />
      {job && (
        <JobProgress
          key={job.id}
          jobId={job.id}
          title={job.title}
          onFinish={() => void load()}
          render={job.kind === 'drill' ? (s) => <DrillOutcome result={s.result} /> : undefined}
        />
      )}
    </main>
  );
}
