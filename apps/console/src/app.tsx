import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call } from './api.js';
import { MaintenanceBanner } from './components/maintenance-banner.js';
import { session, useSession } from './session.js';
import { BackupView } from './views/backup.js';
import { BackupsView } from './views/backups.js';
import { CreateView } from './views/create.js';
import { DependenciesView } from './views/dependencies.js';
import { HealthView } from './views/health.js';
import { ChangePasswordView, LoginView } from './views/login.js';
import { ResetView } from './views/reset.js';
import { RestoreView } from './views/restore.js';
import { ScheduleView } from './views/schedule.js';
import { UndoView } from './views/undo.js';

/**
 * One entry per area of the console, in navigation order. A new area (health, drills, undo, previews) is one
 * view module and one line here. Routes live in the URL's hash, which never carries the token.
 */
const VIEWS: { path: string; label: string; view: ComponentType<{ query: URLSearchParams }>; hidden?: boolean }[] = [
  { path: 'backups', label: 'Backups', view: BackupsView },
  { path: 'backup', label: 'Backup', view: BackupView, hidden: true },
  { path: 'create', label: 'New backup', view: CreateView },
  { path: 'restore', label: 'Restore', view: RestoreView },
  { path: 'undo', label: 'Undo', view: UndoView },
  { path: 'health', label: 'Health', view: HealthView },
  { path: 'schedule', label: 'Schedule', view: ScheduleView },
  { path: 'dependencies', label: 'Dependencies', view: DependenciesView },
  { path: 'reset', label: 'Reset', view: ResetView },
];

function parseHash(): { path: string; query: URLSearchParams } {
  const [path = '', q = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: VIEWS.some((v) => v.path === path) ? path : 'backups', query: new URLSearchParams(q) };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** The queue dashboard opens in a new tab with its own short-lived cookie (POST …/queue-dashboard/session). */
async function openQueues(setError: (m: string) => void) {
  const tab = window.open('about:blank', '_blank');
  try {
    const { data } = await call<{ url: string }>('POST', '/api/system/queue-dashboard/session');
    if (tab) tab.location.href = data.url;
    else location.href = data.url;
  } catch (err) {
    tab?.close();
    setError(err instanceof ApiError ? err.message : (err as Error).message);
  }
}

export function App() {
  const s = useSession();
  const route = useRoute();
  const [navError, setNavError] = useState<string | null>(null);
  const current = VIEWS.find((v) => v.path === route.path) ?? VIEWS[0]!;
  useEffect(() => {
    document.title = `${s.token ? current.label : 'Log in'} · Millennium Potters backups`;
  }, [s.token, current.label]);

  if (!s.token || !s.user) return <LoginView notice={s.notice} />;
  if (s.user.mustChangePassword) return <ChangePasswordView username={s.user.username} />;
  const View = current.view;
  const logout = async () => {
    await call('POST', '/api/auth/logout').catch(() => {});
    session.end('Logged out.');
  };
  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link; the handler only keeps the hash router's URL */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">MP backups</span>
        <nav aria-label="Console">
          <ul>
            {VIEWS.filter((v) => !v.hidden).map((v) => (
              <li key={v.path}>
                <a
                  href={`#/${v.path}`}
                  aria-current={
                    v.path === current.path || (v.path === 'backups' && current.path === 'backup') ? 'page' : undefined
                  }
                >
                  {v.label}
                </a>
              </li>
            ))}
            <li>
              <button type="button" class="link" onClick={() => openQueues(setNavError)}>
                Queues ↗
              </button>
            </li>
          </ul>
        </nav>
        <span class="who">
          {s.user.username}{' '}
          <button type="button" class="link" onClick={logout}>
            Log out
          </button>
        </span>
      </header>
      <MaintenanceBanner />
      {navError && (
        <p class="error" role="alert">
          {navError}
        </p>
      )}
      <View key={current.path} query={route.query} />
    </>
  );
}
