import { useState } from 'preact/hooks';
import { get, toFailure, type Failure } from '../api.js';
import { Message } from '../components/message.js';
import { tableName } from '../format.js';

interface Answer {
  entityType: string;
  entityId: string;
  canDelete: boolean;
  dependencies: Record<string, number>;
  message: string;
}

const TYPES = [
  ['user', 'User'],
  ['union', 'Union'],
  ['unionMember', 'Union member'],
  ['loanType', 'Loan type'],
] as const;

/** GET /api/backup/dependencies/:type/:id: can it be deleted, and what depends on it. */
export function DependenciesView() {
  const [type, setType] = useState<string>('user');
  const [id, setId] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  const check = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setAnswer(null);
    try {
      setAnswer(
        await get<Answer>(`/api/backup/dependencies/${encodeURIComponent(type)}/${encodeURIComponent(id.trim())}`),
      );
    } catch (err) {
      setError(toFailure(err));
    }
  };
  return (
    <main id="main">
      <h1>Dependency check</h1>
      <form class="card" onSubmit={check}>
        <label>
          Entity type
          <select name="entityType" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {TYPES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Id
          <input
            name="entityId"
            required
            placeholder="00000000-0000-0000-0000-000000000000"
            value={id}
            onInput={(e) => setId(e.currentTarget.value)}
          />
        </label>
        <Message error={error} />
        <button type="submit">Check</button>
      </form>
      {answer && (
        <section class="card" aria-live="polite">
          <p class={answer.canDelete ? 'ok' : 'warning'}>
            <strong>{answer.canDelete ? 'Can be deleted.' : 'Cannot be deleted yet.'}</strong> {answer.message}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Depends on it</th>
                <th scope="col">Count</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(answer.dependencies).map(([k, v]) => (
                <tr key={k}>
                  <td>{tableName(k)}</td>
                  <td>{v.toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </main>
  );
}
