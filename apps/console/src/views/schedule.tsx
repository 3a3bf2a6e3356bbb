import { useEffect, useState } from 'preact/hooks';
import { call, get, toFailure, type Failure, type RetentionPreview, type Schedule } from '../api.js';
import { Message } from '../components/message.js';
import { bytes, when } from '../format.js';

type Settings = Pick<
  Schedule,
  | 'frequency'
  | 'location'
  | 'retentionDays'
  | 'includeAuditLogs'
  | 'includeSessions'
  | 'compression'
  | 'drillFrequency'
  | 'keepDaily'
  | 'keepWeekly'
  | 'keepMonthly'
  | 'keepYearly'
  | 'maxTotalSizeMb'
>;
const KEEP_RULES = [
  ['keepDaily', 'Keep daily', 'the newest backup of each of the last N days that have one'],
  ['keepWeekly', 'Keep weekly', 'the newest of each of the last N weeks'],
  ['keepMonthly', 'Keep monthly', 'the newest of each of the last N months'],
  ['keepYearly', 'Keep yearly', 'the newest of each of the last N years'],
] as const;
const SETTING_KEYS = [
  'frequency',
  'location',
  'retentionDays',
  'includeAuditLogs',
  'includeSessions',
  'compression',
  'drillFrequency',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
  'maxTotalSizeMb',
] as const;

const settingsOf = (s: Schedule): Settings =>
  Object.fromEntries(SETTING_KEYS.map((k) => [k, s[k] ?? null])) as unknown as Settings;
/** An empty number field is "no rule" (null); anything else a whole number. */
const optionalNumber = (v: string): number | null => (v.trim() === '' ? null : Number(v));

/**
 * What a prune now would keep and delete, and why (GET /api/backup/retention/preview). The preview reads the
 * saved keep rules; only the days can be previewed before saving, so changed rules say to save first.
 */
function RetentionTable({ preview, unsavedRules }: { preview: RetentionPreview; unsavedRules: boolean }) {
  const deleting = preview.decisions.filter((d) => d.action === 'delete');
  return (
    <section class="card" aria-labelledby="retention-title" aria-live="polite" data-testid="retention-preview">
      <h2 id="retention-title">Retention preview</h2>
      <p class="hint">
        With {preview.retentionDays} days
        {unsavedRules ? ' and the saved keep rules (save to preview changed ' + 'ones)' : ''}, the next prune would
        delete {deleting.length} backup{deleting.length === 1 ? '' : 's'}
        {deleting.length ? ` (${bytes(deleting.reduce((a, b) => a + (b.fileSize ?? 0), 0))})` : ''} and keep{' '}
        {bytes(preview.keptBytes)}.{preview.overSizeCap ? ' The kept backups are over the size cap.' : ''}
      </p>
      {preview.decisions.length > 0 && (
        <table class="retention">
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Decision</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {preview.decisions.map((d) => (
              <tr key={d.id} data-backup-id={d.id} data-action={d.action}>
                <td data-label="Backup">
                  <span class="filename">{d.filename}</span>
                  <br />
                  <small>
                    {when(d.createdAt)} · {d.type} · {bytes(d.fileSize)}
                  </small>
                </td>
                <td data-label="Decision">
                  <span class={`badge ${d.action === 'keep' ? 'badge-completed' : 'badge-failed'}`}>{d.action}</span>
                </td>
                <td data-label="Why">
                  {d.reasons.join('; ') || '—'}
                  {d.overridden?.length ? <small> (would have been kept by {d.overridden.join(', ')})</small> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * GET/PUT /api/backup/schedule: the settings with GFS retention, the last and next run, and what retention keeps and
 * why.
 */
export function ScheduleView() {
  const [schedule, setSchedule] = useState<Schedule | null>(null);
  const [form, setForm] = useState<Settings | null>(null);
  const [preview, setPreview] = useState<RetentionPreview | null>(null);
  const [saved, setSaved] = useState(0);
  const [ok, setOk] = useState<string | null>(null);
  const [error, setError] = useState<Failure | null>(null);

  const show = (s: Schedule) => {
    setSchedule(s);
    setForm(settingsOf(s));
  };
  useEffect(() => {
    get<Schedule>('/api/backup/schedule').then(show, (e) => setError(toFailure(e)));
  }, []);
  const days = form?.retentionDays;
  useEffect(() => {
    if (!days || days < 1) return;
    const t = setTimeout(() => {
      get<RetentionPreview>(`/api/backup/retention/preview?retentionDays=${days}`).then(setPreview, () =>
        setPreview(null),
      );
    }, 300);
    return () => clearTimeout(t);
  }, [days, saved]);

  const save = async (e: Event) => {
    e.preventDefault();
    setOk(null);
    setError(null);
    try {
      const { data, message } = await call<Schedule>('PUT', '/api/backup/schedule', form);
      show(data);
      setSaved((n) => n + 1);
      setOk(message ?? 'Saved');
    } catch (err) {
      setError(toFailure(err));
    }
  };
  if (!form || !schedule)
    return (
      <main id="main">
        <h1>Schedule</h1>
        {error ? <Message error={error} /> : <p aria-busy="true">Loading…</p>}
      </main>
    );
  const patch = (p: Partial<Settings>) => setForm({ ...form, ...p });
  const unsavedRules = [...KEEP_RULES.map(([k]) => k), 'maxTotalSizeMb' as const].some(
    (k) => form[k] !== (schedule[k] ?? null),
  );

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
        <div class="form-grid">
          <label>
            Frequency
            <select
              name="frequency"
              value={form.frequency}
              onChange={(e) => patch({ frequency: e.currentTarget.value as Settings['frequency'] })}
            >
              <option value="disabled">Disabled</option>
              <option value="daily">Daily</option>
              <option value="weekly">Weekly</option>
              <option value="monthly">Monthly</option>
            </select>
          </label>
          <label>
            Location
            <select
              name="location"
              value={form.location}
              onChange={(e) => patch({ location: e.currentTarget.value as Settings['location'] })}
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
              value={form.compression}
              onChange={(e) => patch({ compression: e.currentTarget.value as Settings['compression'] })}
            >
              <option value="gzip">gzip (default, readable by any tool)</option>
              <option value="zstd">zstd (faster, smaller)</option>
            </select>
          </label>
          <label>
            Restore drills
            <select
              name="drillFrequency"
              value={form.drillFrequency}
              onChange={(e) => patch({ drillFrequency: e.currentTarget.value as Settings['drillFrequency'] })}
            >
              <option value="disabled">Disabled</option>
              <option value="daily">Daily</option>
              <option value="weekly">Weekly</option>
              <option value="monthly">Monthly</option>
            </select>
          </label>
        </div>
        <fieldset>
          <legend>Include</legend>
          <label class="check">
            <input
              type="checkbox"
              name="includeAuditLogs"
              checked={form.includeAuditLogs}
              onChange={(e) => patch({ includeAuditLogs: e.currentTarget.checked })}
            />
            Audit logs
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="includeSessions"
              checked={form.includeSessions}
              onChange={(e) => patch({ includeSessions: e.currentTarget.checked })}
            />
            Sessions
          </label>
        </fieldset>
        <fieldset>
          <legend>Retention</legend>
          <p class="hint">
            A backup is kept when any rule keeps it. The newest completed backup, pinned ones, ones being read and the
            safety backups of restores still in their undo window are never deleted. Leave a rule empty to not use it.
          </p>
          <div class="form-grid">
            <label>
              Keep backups for (days)
              <input
                type="number"
                name="retentionDays"
                min={1}
                max={3650}
                required
                value={form.retentionDays}
                onInput={(e) => patch({ retentionDays: Number(e.currentTarget.value) })}
              />
            </label>
            {KEEP_RULES.map(([key, label, help]) => (
              <label key={key}>
                {label}
                <input
                  type="number"
                  name={key}
                  min={0}
                  max={100000}
                  value={form[key] ?? ''}
                  aria-describedby={`${key}-help`}
                  onInput={(e) => patch({ [key]: optionalNumber(e.currentTarget.value) })}
                />
                <small id={`${key}-help`}>{help}</small>
              </label>
            ))}
            <label>
              Size cap (MB)
              <input
                type="number"
                name="maxTotalSizeMb"
                min={1}
                value={form.maxTotalSizeMb ?? ''}
                aria-describedby="maxTotalSizeMb-help"
                onInput={(e) => patch({ maxTotalSizeMb: optionalNumber(e.currentTarget.value) })}
              />
              <small id="maxTotalSizeMb-help">
                after the rules, the oldest unprotected backups go until the rest fit
              </small>
            </label>
          </div>
        </fieldset>
        <Message ok={ok} error={error} />
        <button type="submit">Save schedule</button>
      </form>
      {preview && <RetentionTable preview={preview} unsavedRules={unsavedRules} />}
    </main>
  );
}
