import { seconds, tableName } from '../format.js';

interface DrillResult {
  rtoSeconds?: number;
  rowsPerSecond?: number;
  rows?: number;
  ok?: boolean;
  tables?: Record<string, { rows: number; fileRows: number; hashOk: boolean }>;
  invariants?: { rule: string; count: number; message: string }[];
}

/** A finished drill's result: recovery time, throughput, and per table whether rows and content matched the file. */
export function DrillOutcome({ result }: { result: unknown }) {
  const r = (result ?? {}) as DrillResult;
  if (r.rtoSeconds === undefined) return null;
  return (
    <div class="drill-outcome" data-testid="drill-outcome">
      <p>
        <strong class={r.ok ? 'ok' : 'error'}>
          {r.ok ? 'The backup restored and matched the file.' : 'The restored data did not match the file.'}
        </strong>{' '}
        Recovery time <strong data-testid="rto">{seconds(r.rtoSeconds)}</strong> ·{' '}
        {Math.round(r.rowsPerSecond ?? 0).toLocaleString()} rows/s · {(r.rows ?? 0).toLocaleString()} rows
      </p>
      {r.tables && (
        <ul class="counts">
          {Object.entries(r.tables).map(([t, v]) => (
            <li key={t}>
              {tableName(t)}: {v.rows.toLocaleString()} of {v.fileRows.toLocaleString()} rows, content{' '}
              {v.hashOk ? 'identical' : 'different'}
            </li>
          ))}
        </ul>
      )}
      {r.invariants && r.invariants.length > 0 && (
        <p class="warning">Business-rule warnings: {r.invariants.map(invariantText).join('; ')}</p>
      )}
    </div>
  );
}

const invariantText = (i: { count: number; message: string }) => `${i.count} × ${i.message}`;
