import type { Failure } from '../api.js';
import { Problems } from './problems.js';

/**
 * A one-line outcome: success in a polite live region; a failure as an alert with its code and, for a refusal
 * with a list, its problems (never raw JSON).
 */
export function Message({ ok, error }: { ok?: string | null; error?: Failure | string | null }) {
  if (error) {
    const f = typeof error === 'string' ? { message: error, code: null, problems: [] } : error;
    return (
      <div class="failure" role="alert">
        <p class="error">
          {f.message}
          {f.code ? <small class="code"> ({f.code})</small> : null}
        </p>
        <Problems problems={f.problems} />
      </div>
    );
  }
  if (ok)
    return (
      <p class="ok" role="status">
        {ok}
      </p>
    );
  return null;
}
