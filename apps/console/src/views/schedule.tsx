import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, get, type Schedule } from '../api.js';
import { Message } from '../components/message.js';
import { bytes, when } from '../format.js';

interface Preview {
  retentionDays: number;
  cutoff: string;
  backups: { id: string; filename: string; fileSize: number | null; createdAt: string }[];
}

type Settings = Pick<Schedule, 'frequency' | 'location' | 'retentionDays' | 'includeAuditLogs' | 'includeSessions' | 'compression'>;

/** GET/PUT /api/backup/schedule: the settings, the last and next run, and what retention would delete now. */
export function ScheduleView() {
  const [schedule, setSchedule] = useState<Schedule | null>(null);
  const [form, setForm] = useState<Settings | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const show = (s: Schedule) => {
    setSchedule(s);
    setForm({ frequency: s.frequency, location: s.location, retentionDays: s.retentionDays, includeAuditLogs: s.includeAuditLogs, includeSessions: s.includeSessions, compression: s.compression });
  };
  useEffect(() => {
    get<Schedule>('/api/backup/schedule').then(show, (e: Error) => setError(e.message));
  }, []);
  const days = form?.retentionDays;
  useEffect(() => {
    if (!days || days < 1) return;
    const t = setTimeout(() => {
      get<Preview>(`/api/backup/retention/preview?retentionDays=${days}`).then(setPreview, () => setPreview(null));
    }, 300);
    return () => clearTimeout(t);
  }, [days]);

  const save = async (e: Event) => {
    e.preventDefault();
    setOk(null);
    setError(null);
    try {
      const { data, message } = await call<Schedule>('PUT', '/api/backup/schedule', form);
      show(data);
      setOk(message ?? 'Saved');
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : (err as Error).message);
    }
  };
  if (!form || !schedule) return <main id="main"><h1>Schedule</h1>{error ? <Message error={error} /> : <p aria-busy="true">Loading…</p>}</main>;
  const patch = (p: Partial<Settings>) => setForm({ ...form, ...p });

  return (
    <main id="main">
      <h1>Schedule</h1>
      <dl class="facts">
        <dt>Last backup</dt>
        <dd data-testid="last-run">{when(schedule.lastBackupAt)}</dd>
        <dt>Next backup</dt>
        <dd data-testid="next-run">{schedule.frequency === 'disabled' ? 'disabled' : when(schedule.nextBackupAt)}</dd>
        <dt>Time zone</dt>
        <dd>{schedule.timezone} (runs at 02:00)</dd>
        <dt>Last changed</dt>
        <dd>
          {when(schedule.updatedAt)}
          {schedule.updatedBy ? ` by ${schedule.updatedBy}` : ''}
        </dd>
      </dl>
      <form class="card" onSubmit={save}>
        <label>
          Frequency
          <select name="frequency" value={form.frequency} onChange={(e) => patch({ frequency: e.currentTarget.value as Settings['frequency'] })}>
            <option value="disabled">Disabled</option>
            <option value="daily">Daily</option>
            <option value="weekly">Weekly</option>
            <option value="monthly">Monthly</option>
          </select>
        </label>
        <label>
          Location
          <select name="location" value={form.location} onChange={(e) => patch({ location: e.currentTarget.value as Settings['location'] })}>
            <option value="local">Local disk</option>
            <option value="cloud">Cloud (Cloudinary)</option>
            <option value="both">Both</option>
          </select>
        </label>
        <label>
          Compression
          <select name="compression" value={form.compression} onChange={(e) => patch({ compression: e.currentTarget.value as Settings['compression'] })}>
            <option value="gzip">gzip (default, readable by any tool)</option>
            <option value="zstd">zstd (faster, smaller)</option>
          </select>
        </label>
        <label>
          Keep backups for (days)
          <input type="number" name="retentionDays" min={1} max={3650} required value={form.retentionDays} onInput={(e) => patch({ retentionDays: Number(e.currentTarget.value) })} />
        </label>
        <fieldset>
          <legend>Include</legend>
          <label class="check">
            <input type="checkbox" name="includeAuditLogs" checked={form.includeAuditLogs} onChange={(e) => patch({ includeAuditLogs: e.currentTarget.checked })} />
            Audit logs
          </label>
          <label class="check">
            <input type="checkbox" name="includeSessions" checked={form.includeSessions} onChange={(e) => patch({ includeSessions: e.currentTarget.checked })} />
            Sessions
          </label>
        </fieldset>
        {preview && (
          <p class="hint" aria-live="polite">
            With {preview.retentionDays} days, the next prune would delete {preview.backups.length} backup{preview.backups.length === 1 ? '' : 's'}
            {preview.backups.length ? ` (${bytes(preview.backups.reduce((a, b) => a + (b.fileSize ?? 0), 0))})` : ''}.
          </p>
        )}
        <Message ok={ok} error={error} />
        <button type="submit">Save schedule</button>
      </form>
    </main>
  );
}
