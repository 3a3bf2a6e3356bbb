import { useState } from 'preact/hooks';
import { ApiError, call, toFailure, type Failure } from '../api.js';
import { Message } from '../components/message.js';
import { pendingClaim } from '../reset-claim.js';
import { session, type SessionUser } from '../session.js';

/** Username and password → POST /api/auth/login; the token is kept for this tab only. */
export function LoginView({ notice }: { notice: string | null }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Read once: the panel stays to show the claimed password after the claim is used up.
  const [claiming] = useState(() => pendingClaim.get() !== null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data } = await call<{ token: string; user: SessionUser }>('POST', '/api/auth/login', {
        username,
        password,
      });
      session.start(data.token, data.user);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `The API did not answer (${(err as Error).message})`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="narrow">
      <h1>Millennium Potters backups</h1>
      {notice && (
        <p class="warning" role="status">
          {notice}
        </p>
      )}
      {claiming && <ClaimPanel onClaimed={(u) => setUsername(u)} />}
      <form onSubmit={submit} class="card">
        <h2>Log in</h2>
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <Message error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}

/**
 * After an emergency reset every account is gone: the claim token this tab kept (memory only) fetches the new
 * SuperAdmin password once, after the reset completed (POST /api/auth/reset-claim).
 */
function ClaimPanel({ onClaimed }: { onClaimed: (username: string) => void }) {
  const [claimed, setClaimed] = useState<{ username: string; password: string } | null>(null);
  const [error, setError] = useState<Failure | string | null>(null);
  const claim = async () => {
    const pending = pendingClaim.get();
    if (!pending) return;
    setError(null);
    try {
      const { data } = await call<{ username: string; password: string }>('POST', '/api/auth/reset-claim', pending);
      pendingClaim.clear();
      setClaimed(data);
      onClaimed(data.username);
    } catch (err) {
      setError(toFailure(err));
    }
  };
  if (claimed) {
    return (
      <section class="card" aria-labelledby="claimed-title">
        <h2 id="claimed-title">New SuperAdmin password</h2>
        <p>
          Username <code>{claimed.username}</code>, password <code class="secret">{claimed.password}</code>. It is shown
          once: log in with it now and choose your own.
        </p>
      </section>
    );
  }
  return (
    <section class="card" aria-labelledby="claim-title">
      <h2 id="claim-title">Emergency reset</h2>
      <p>
        Every account was deleted by the reset. Once the reset has completed, claim the new SuperAdmin password (once).
      </p>
      <Message error={error} />
      <button type="button" onClick={claim}>
        Claim the SuperAdmin password
      </button>
    </section>
  );
}

/** A generated password must be replaced before anything else works (POST /api/auth/change-password). */
export function ChangePasswordView({ username }: { username: string }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<Failure | string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== repeat) return setError('The two new passwords differ.');
    setError(null);
    try {
      await call('POST', '/api/auth/change-password', { currentPassword: current, newPassword: next });
      session.passwordChanged();
    } catch (err) {
      setError(toFailure(err));
    }
  };
  return (
    <main id="main" class="narrow">
      <h1>Choose your password</h1>
      <form onSubmit={submit} class="card">
        <p>
          <strong>{username}</strong> has a generated password. Replace it before doing anything else: at least 12
          characters with three of lower case, upper case, digits and symbols.
        </p>
        <input type="text" name="username" autocomplete="username" value={username} hidden readOnly />
        <label>
          Current (generated) password
          <input
            type="password"
            name="current"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label>
          New password
          <input
            type="password"
            name="new"
            autocomplete="new-password"
            required
            minLength={12}
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
        </label>
        <label>
          New password again
          <input
            type="password"
            name="repeat"
            autocomplete="new-password"
            required
            value={repeat}
            onInput={(e) => setRepeat(e.currentTarget.value)}
          />
        </label>
        <Message error={error} />
        <div class="actions">
          <button type="submit">Change password</button>
          <button type="button" class="secondary" onClick={() => session.end()}>
            Log out
          </button>
        </div>
      </form>
    </main>
  );
}
