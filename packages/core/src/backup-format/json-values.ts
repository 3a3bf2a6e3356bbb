import { quoteIdent, quoteLiteral } from './catalog.js';

/**
 * How a json/jsonb column's value is written, by format (docs/backup-format.md):
 * - 1.0: the value as JSON, SQL NULL as `null`. A JSON `null` value is written the same way, so it
 *   comes back as SQL NULL: 1.0 cannot tell them apart.
 * - 1.1 ("tagged"): SQL NULL is `null`; a value that is JSON `null`, or an object whose only key is
 *   `"$json"`, is wrapped as `{"$json": <value>}`; every other value is written as it is. So an
 *   object whose only key is `"$json"` always means "this value"; the wrapping is needed for almost
 *   no row, and a reader of 1.0 files never unwraps anything.
 */
export const JSON_TAG = '$json';

/** Whether the json/jsonb values of a file of this format version are tagged (see {@link JSON_TAG}). */
export function tagsJsonValues(version: string): boolean {
  return version !== '1.0';
}

/**
 * The export's expression for a json/jsonb column (format 1.1): the column itself, or `{"$json": v}`
 * where the value needs wrapping. CASE fixes the order of the tests: `?` and `-` would also match or
 * fail on arrays and scalars. One type test per row and one key lookup per object in the common case.
 */
export function exportJsonExpression(column: { name: string; type: string }): string {
  const v = quoteIdent(column.name);
  const tag = quoteLiteral(JSON_TAG);
  if (column.type === 'jsonb') {
    return `CASE jsonb_typeof(${v})
      WHEN 'null' THEN jsonb_build_object(${tag}, ${v})
      WHEN 'object' THEN CASE WHEN ${v} ? ${tag} AND (${v} - ${tag}) = '{}'::jsonb
        THEN jsonb_build_object(${tag}, ${v}) ELSE ${v} END
      ELSE ${v} END AS ${v}`;
  }
  // json keeps its text as written: test a jsonb copy, wrap the original. Its line breaks (CR, LF) become spaces, or
  // row_to_json would carry them into the file and split the row over lines; in a valid json value they can only
  // be whitespace between tokens (a string holds them escaped), so the value is the same.
  return `translate((CASE json_typeof(${v})
      WHEN 'null' THEN json_build_object(${tag}, ${v})
      WHEN 'object' THEN CASE WHEN ${v}::jsonb ? ${tag} AND (${v}::jsonb - ${tag}) = '{}'::jsonb
        THEN json_build_object(${tag}, ${v}) ELSE ${v} END
      ELSE ${v} END)::text, E'\\r\\n', '  ')::json AS ${v}`;
}

/**
 * The checked path's SQL for a json/jsonb column, from `field` (a jsonb expression, present in the
 * row) to the column's `type`: JSON `null` is SQL NULL, and, when `tagged`, `{"$json": v}` is `v`.
 */
export function importJsonExpression(field: string, type: string, tagged: boolean): string {
  if (!tagged) return `NULLIF(${field}, 'null'::jsonb)::${type}`;
  // `-` binds tighter than `->`: `doc->'f' - 'k'` would read as `doc->('f' - 'k')`.
  const v = `(${field})`;
  const tag = quoteLiteral(JSON_TAG);
  return `(CASE WHEN jsonb_typeof(${v}) <> 'object' THEN NULLIF(${v}, 'null'::jsonb)
      WHEN ${v} ? ${tag} AND (${v} - ${tag}) = '{}'::jsonb THEN ${v}->${tag}
      ELSE ${v} END)::${type}`;
}
