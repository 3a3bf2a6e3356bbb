import type { Problem } from '../api.js';
import { tableName } from '../format.js';

/**
 * The one rendering of a problem list: a refused restore's problems as the job status carries them, and an
 * API refusal's details (see `toFailure`). Where (table, row, field) and what, one row each; a phone shows each
 * row as a card.
 */
export function Problems({
  problems,
  title = 'Why it was refused (nothing was changed)',
}: {
  problems: Problem[];
  title?: string;
}) {
  if (problems.length === 0) return null;
  return (
    <div class="problems">
      <h4>{title}</h4>
      <table>
        <thead>
          <tr>
            <th scope="col">Table</th>
            <th scope="col">Row</th>
            <th scope="col">Field</th>
            <th scope="col">Problem</th>
          </tr>
        </thead>
        <tbody>
          {problems.map((p, i) => (
            <tr key={i} title={p.message}>
              <td data-label="Table">{p.table ? tableName(p.table) : '—'}</td>
              <td data-label="Row">{p.row ?? '—'}</td>
              <td data-label="Field">{p.field ?? '—'}</td>
              <td data-label="Problem">{p.problem}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
