import { useState } from 'preact/hooks';
import { call, toFailure, type Failure } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { Message } from '../components/message.js';
import { pendingClaim } from '../reset-claim.js';
import { session } from '../session.js';

/**
 * POST /api/backup/reset: a safety backup, then every table wiped and a fresh SuperAdmin. The claim token the
 * API answers stays in this tab's memory; the login screen uses it to fetch the new password once.
 */
export function ResetView() {
  const [typed, setTyped] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<Failure | null>(null);
  const start = async () => {
    setError(null);
    try {
      const { data } = await call<{ jobId: string; claimToken: string }>('POST', '/api/backup/reset', {
        confirmationToken: typed,
      });
      pendingClaim.set({ jobId: data.jobId, claimToken: data.claimToken });
      // The next login (the new SuperAdmin) starts on the backup list, not on this screen.
      location.hash = '#/backups';
      session.end(
        'The emergency reset is running: every account is being deleted. Claim the new SuperAdmin password below ' +
          'once it has completed.',
      );
    } catch (err) {
      setConfirming(false);
      setError(toFailure(err));
    }
  };
  return (
    <main id="main">
      <h1>Emergency reset</h1>
      <form
        class="card danger-zone"
        onSubmit={(e) => {
          e.preventDefault();
          setConfirming(true);
        }}
      >
        <p>
          Deletes <strong>every</strong> user, union, member, loan type, loan, repayment, audit log and session, after a
          safety backup. A new SuperAdmin with a generated password is created; this tab can claim it once. Keep this
          tab open until then.
        </p>
        <label>
          Type DELETE to confirm
          <input
            name="confirmationToken"
            autocomplete="off"
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </label>
        <Message error={error} />
        <button type="submit" class="danger" disabled={typed !== 'DELETE'}>
          Reset everything…
        </button>
      </form>
      {confirming && (
        <ConfirmDialog
          title="Wipe all data?"
          confirmLabel="Wipe and reset"
          danger
          onConfirm={start}
          onCancel={() => setConfirming(false)}
        >
          <p>All domain data and every account are deleted. You are logged out at once.</p>
        </ConfirmDialog>
      )}
    </main>
  );
}
