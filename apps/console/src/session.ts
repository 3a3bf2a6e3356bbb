import { useEffect, useState } from 'preact/hooks';

/** The signed-in admin, as POST /api/auth/login answers it. */
export interface SessionUser {
  id: string;
  username: string;
  role: string;
  mustChangePassword: boolean;
}

export interface SessionState {
  token: string | null;
  user: SessionUser | null;
  /** Why the last session ended (shown on the login screen), e.g. a restore logging everyone out. */
  notice: string | null;
}

// sessionStorage: the token survives a reload of this tab but not the tab itself, and is never put in a URL.
const KEY = 'mp.console.session';

function load(): SessionState {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as { token?: string; user?: SessionUser } | null;
    if (stored?.token && stored.user) return { token: stored.token, user: stored.user, notice: null };
  } catch {
    /* a damaged entry is a logged-out tab */
  }
  return { token: null, user: null, notice: null };
}

let state = load();
const listeners = new Set<(s: SessionState) => void>();

function set(next: SessionState): void {
  state = next;
  if (next.token && next.user) sessionStorage.setItem(KEY, JSON.stringify({ token: next.token, user: next.user }));
  else sessionStorage.removeItem(KEY);
  for (const l of listeners) l(state);
}

export const session = {
  get: () => state,
  start: (token: string, user: SessionUser) => set({ token, user, notice: null }),
  passwordChanged: () => state.user && set({ ...state, user: { ...state.user, mustChangePassword: false } }),
  mustChangePassword: () =>
    state.user &&
    !state.user.mustChangePassword &&
    set({ ...state, user: { ...state.user, mustChangePassword: true } }),
  end: (notice: string | null = null) => set({ token: null, user: null, notice }),
  subscribe(listener: (s: SessionState) => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

/** The session, re-rendering the component when it changes. */
export function useSession(): SessionState {
  const [s, setS] = useState(state);
  useEffect(() => session.subscribe(setS), []);
  return s;
}
