import { quoteIdent, quoteLiteral, type ColumnInfo } from '../backup-format/catalog.js';

// SQL over the staging schema, shared by the build and its diagnostics.

/** A staged table by its live name (`<schema>.<table>`). */
export const staged = (schema: string, table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;

/**
 * The raw rows with `doc` parsed as jsonb (staged as text, so each row is parsed once, here).
 * OFFSET 0 keeps the planner from inlining the cast into every use of `doc`, which would parse
 * each row once per column.
 */
export const parsed = (raw: string) => `(SELECT __ord, doc::jsonb AS doc FROM ${raw} OFFSET 0) AS r`;

/** The names of `columns` as a PostgreSQL text array, to subtract from a row (`doc - names`). */
export const columnNames = (columns: ColumnInfo[]) =>
  `ARRAY[${columns.map((c) => quoteLiteral(c.name)).join(', ')}]::text[]`;
