import type { Problem } from '../api.js';
import { tableName } from '../format.js';

/** A refused restore's problems, as the worker reported them: where (table, row, field) and what. */
export function Problems({ problems }: { problems: Problem[] }) {
  return (
    <div class="problems">
      <h4>Why the file was refused (nothing was changed)</h4>
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
