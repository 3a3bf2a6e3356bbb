import type { EntityRestoreResult, JobStatus, RestorePreview, RestoreResult } from '../api.js';
import { bytes, inExportOrder, seconds, tableName, when } from '../format.js';
import { DrillOutcome } from './drill-outcome.js';

const n = (v: number) => v.toLocaleString();

/** A preview's answer: per table rows in the file and live, what would be added, removed and changed. */
function PreviewOutcome({ p }: { p: RestorePreview }) {
  return (
    <div class="outcome" data-testid="preview">
      <p>
        {p.mode === 'entity'
          ? 'An entity restore'
          : p.mode === 'selective'
            ? 'This selective restore'
            : 'This ' + 'restore'}{' '}
        would take about <strong>{seconds(p.estimatedSeconds)}</strong>. Nothing has changed.
      </p>
      {p.addedByDependencies.length > 0 && (
        <p data-testid="added-tables">
          With dependencies, it also replaces: <strong>{p.addedByDependencies.map(tableName).join(', ')}</strong>.
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Table</th>
            <th scope="col">In the file</th>
            <th scope="col">Live</th>
            <th scope="col">Added</th>
            <th scope="col">{p.mode === 'entity' ? 'Removed (never)' : 'Removed'}</th>
            <th scope="col">{p.mode === 'entity' ? 'Conflicts' : 'Changed'}</th>
          </tr>
        </thead>
        <tbody>
          {p.tables.map((t) => (
            <tr key={t.table} data-table={t.table}>
              <th scope="row" data-label="Table">
                {tableName(t.table)}
              </th>
              <td data-label="In the file">{n(t.rowsInFile)}</td>
              <td data-label="Live">{n(t.rowsLive)}</td>
              <td data-label="Added">{n(t.added)}</td>
              <td data-label="Removed">{n(t.removed)}</td>
              <td data-label={p.mode === 'entity' ? 'Conflicts' : 'Changed'}>
                {n(t.changed)}
                {t.sampleChangedKeys.length > 0 && (
                  <small class="keys"> e.g. {t.sampleChangedKeys.slice(0, 3).join(', ')}</small>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.brokenReferences.length > 0 && (
        <div class="failure">
          <p class="error">The restore would be refused: references would break.</p>
          <ul>
            {p.brokenReferences.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** A whole or selective restore: rows per table, the tables its dependencies added, and its undo window. */
function RestoreOutcome({ r, operationId }: { r: RestoreResult; operationId: string }) {
  const point = r.restorePoint;
  return (
    <div class="outcome" data-testid="restore-outcome">
      <p>
        Restored {n(Object.values(r.restored ?? {}).reduce((a, b) => a + b, 0))} rows:{' '}
        {inExportOrder(Object.keys(r.restored ?? {}))
          .map((t) => `${tableName(t)} ${n(r.restored[t] ?? 0)}`)
          .join(', ')}
        .
      </p>
      {r.addedByDependencies && r.addedByDependencies.length > 0 && (
        <p data-testid="added-tables">
          Added by dependencies: <strong>{r.addedByDependencies.map(tableName).join(', ')}</strong>.
        </p>
      )}
      {point && !point.droppedAt && point.undoUntil && (
        <p>
          The replaced tables are kept ({bytes(point.bytes)}) until {when(point.undoUntil)}.{' '}
          <a class="button secondary" href={`#/undo?op=${operationId}`}>
            Undo this restore…
          </a>
        </p>
      )}
    </div>
  );
}

/** An entity restore: rows inserted, parents brought back with it, and conflicts (live rows kept). */
function EntityOutcome({ r }: { r: EntityRestoreResult }) {
  const inserted = Object.entries(r.inserted ?? {}).filter(([, v]) => v > 0);
  return (
    <div class="outcome" data-testid="entity-outcome">
      <p>
        Inserted{' '}
        {inserted.length === 0
          ? 'nothing (everything was already live)'
          : inserted.map(([t, v]) => `${tableName(t)} ${n(v)}`).join(', ')}
        .
        {Object.values(r.skippedIdentical ?? {}).some((v) => v > 0) &&
          ` Already live and identical: ${Object.entries(r.skippedIdentical)
            .filter(([, v]) => v > 0)
            .map(([t, v]) => `${tableName(t)} ${n(v)}`)
            .join(', ')}.`}
      </p>
      {r.parentsRestored.length > 0 && (
        <>
          <h4>Parents brought back with it</h4>
          <ul>
            {r.parentsRestored.map((p) => (
              <li key={p.id}>
                {tableName(p.table)} <code>{p.id}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {r.conflictCount > 0 && (
        <div class="failure">
          <h4>
            {n(r.conflictCount)} conflict{r.conflictCount === 1 ? '' : 's'}: the live row was kept
          </h4>
          <ul>
            {r.conflicts.map((c) => (
              <li key={`${c.table}:${c.id}`}>
                {tableName(c.table)} <code>{c.id}</code>: {c.changedFields.join(', ')} differ
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** What a finished operation produced, by its kind. */
export function OperationOutcome({ status }: { status: JobStatus }) {
  const r = status.result as unknown;
  if (!r || typeof r !== 'object') return null;
  switch (status.kind) {
    case 'backup.preview':
      return <PreviewOutcome p={r as RestorePreview} />;
    case 'backup.restore':
      return <RestoreOutcome r={r as RestoreResult} operationId={status.jobId} />;
    case 'backup.entity_restore':
      return <EntityOutcome r={r as EntityRestoreResult} />;
    case 'backup.drill':
      return <DrillOutcome result={r} />;
    default:
      return null;
  }
}
