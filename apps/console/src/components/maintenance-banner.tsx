import { useEffect, useState } from 'preact/hooks';
import { get, type Maintenance } from '../api.js';
import { when } from '../format.js';

/** Polls GET /api/system/status; while maintenance is on, says why and since when (changes are refused). */
export function MaintenanceBanner() {
  const [m, setM] = useState<Maintenance | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const s = await get<{ maintenance: Maintenance }>('/api/system/status');
        if (!stopped) setM(s.maintenance);
      } catch {
        /* a 401 ends the session elsewhere; anything else is retried */
      }
      if (!stopped) timer = setTimeout(poll, 5000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  if (!m?.active) return null;
  return (
    <div class="banner" role="status">
      <strong>Maintenance in progress</strong>: {m.reason ?? 'an operation'} since {when(m.since)}
      {m.jobId ? ` (job ${m.jobId})` : ''}. Backups, restores and schedule changes are refused until it ends; reading
      works.
    </div>
  );
}
