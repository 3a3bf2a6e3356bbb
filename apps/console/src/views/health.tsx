import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  call,
  get,
  toFailure,
  type Accepted,
  type Backup,
  type Drill,
  type Failure,
  type HealthCheck,
} from '../api.js';
import { DrillOutcome } from '../components/drill-outcome.js';
import { JobProgress } from '../components/job-progress.js';
import { Message } from '../components/message.js';
import { checkValue, seconds, when } from '../format.js';

const CHECK_NAMES: Record<string, string> = {
  backup_age: 'Newest backup age',
  scheduled_run: 'Last scheduled run',
  drill: 'Last restore drill',
  backup_size: 'Newest backup size',
  storage_total: 'Total stored',
  read_back: 'Read-back of the newest backup',
};

/** GET /api/backup/health at a glance: one row per check, red or green, with its value against its limit. */
function HealthChecks({ refresh }: { refresh: number }) {
  const [report, setReport] = useState<{ healthy: boolean; checks: HealthCheck[] } | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  useEffect(() => {
    get<{ healthy: boolean; checks: HealthCheck[] }>('/api/backup/health').then(setReport, (e) =>
      setError(toFailure(e)),
    );
  }, [refresh]);
  if (!report) return error ? <Message error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <section class="card" aria-labelledby="health-title" data-testid="health">
      <h2 id="health-title">
        Health:{' '}
        <span class={`badge ${report.healthy ? 'badge-completed' : 'badge-failed'}`}>
          {report.healthy ? 'healthy' : 'unhealthy'}
        </span>
      </h2>
      <table class="health-checks">
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">State</th>
            <th scope="col">Value</th>
            <th scope="col">Limit</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {report.checks.map((c) => (
            <tr key={c.name} data-check={c.name} class={c.ok ? '' : 'row-bad'}>
              <th scope="row" data-label="Check">
                {CHECK_NAMES[c.name] ?? c.name}
              </th>
              <td data-label="State">
                <span class={`badge ${c.ok ? 'badge-completed' : 'badge-failed'}`}>{c.ok ? 'ok' : 'failing'}</span>
              </td>
              <td data-label="Value">{checkValue(c.name, c.value)}</td>
              <td data-label="Limit">{checkValue(c.name, c.limit)}</td>
              <td data-label="Why">{c.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * GET /api/backup/drills: each drill with its result, recovery time and rows per second; run one on a chosen backup.
 */
function Drills({ refresh, onChange }: { refresh: number; onChange: () => void }) {
  const [drills, setDrills] = useState<Drill[] | null>(null);
  const [backups, setBackups] = useState<Backup[]>([]);
  const [backupId, setBackupId] = useState('');
  const [job, setJob] = useState<string | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  const load = useCallback(
    () =>
      get<{ items: Drill[] }>('/api/backup/drills?limit=20').then(
        (p) => setDrills(p.items),
        (e) => setError(toFailure(e)),
      ),
    [],
  );
  useEffect(() => {
    void load();
    get<{ items: Backup[] }>('/api/backup/list?status=completed&limit=50').then(
      (p) => {
        setBackups(p.items);
        setBackupId((id) => id || p.items[0]?.id || '');
      },
      (e) => setError(toFailure(e)),
    );
  }, [load, refresh]);
  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const { data } = await call<Accepted>('POST', `/api/backup/${backupId}/drill`);
      setJob(data.jobId);
      void load();
    } catch (err) {
      setError(toFailure(err));
    }
  };
  const names = new Map(backups.map((b) => [b.id, b.filename]));
  return (
    <section class="card" aria-labelledby="drills-title">
      <h2 id="drills-title">Restore drills</h2>
      <p class="hint">
        A drill restores a stored backup into a scratch database (never the live one), compares it with the file, and
        drops it.
      </p>
      <form class="inline-form" onSubmit={run}>
        <label>
          Backup to drill
          <select name="drillBackupId" value={backupId} onChange={(e) => setBackupId(e.currentTarget.value)} required>
            {backups.length === 0 && <option value="">No completed backup</option>}
            {backups.map((b) => (
              <option key={b.id} value={b.id}>
                {b.filename} · {when(b.createdAt)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={!backupId}>
          Run a drill
        </button>
      </form>
      <Message error={error} />
      {job && (
        <JobProgress
          key={job}
          jobId={job}
          title="Restore drill"
          onFinish={() => {
            void load();
            onChange();
          }}
          render={(s) => <DrillOutcome result={s.result} />}
        />
      )}
      {!drills ? (
        <p aria-busy="true">Loading…</p>
      ) : drills.length === 0 ? (
        <p>No drill has run yet.</p>
      ) : (
        <table class="drills">
          <caption class="sr-only">Restore drills, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Backup</th>
              <th scope="col">Result</th>
              <th scope="col">Recovery time</th>
              <th scope="col">Rows/s</th>
            </tr>
          </thead>
          <tbody>
            {drills.map((d) => (
              <tr key={d.id} data-drill-id={d.id}>
                <td data-label="Started">
                  {when(d.createdAt)}
                  {d.createdBy ? <small> · {d.createdBy}</small> : null}
                </td>
                <td data-label="Backup">
                  {d.backupId ? (
                    <a href={`#/backup?id=${d.backupId}`}>{names.get(d.backupId) ?? d.backupId.slice(0, 8)}</a>
                  ) : (
                    '—'
                  )}
                </td>
                <td data-label="Result">
                  <span class={`badge badge-${drillBadge(d)}`}>
                    {d.status === 'completed' ? (d.ok === false ? 'mismatch' : 'passed') : d.status}
                  </span>
                  {d.error && <small class="error-text">{d.error}</small>}
                </td>
                <td data-label="Recovery time" data-testid="drill-rto">
                  {seconds(d.rtoSeconds)}
                </td>
                <td data-label="Rows/s">
                  {d.rowsPerSecond === null ? '—' : Math.round(d.rowsPerSecond).toLocaleString()}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Health and drills at a glance. */
export function HealthView() {
  const [refresh, setRefresh] = useState(0);
  return (
    <main id="main">
      <div class="heading">
        <h1>Health and drills</h1>
        <button type="button" class="secondary" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <HealthChecks refresh={refresh} />
      <Drills refresh={refresh} onChange={() => setRefresh((n) => n + 1)} />
    </main>
  );
}

/** The badge a drill's outcome wears: completed and matching, failed or mismatched, or still running. */
function drillBadge(d: { status: string; ok?: boolean | null }): 'completed' | 'failed' | 'running' {
  if (d.status === 'completed' && d.ok !== false) return 'completed';
  if (d.status === 'failed' || d.ok === false) return 'failed';
  return 'running';
}
