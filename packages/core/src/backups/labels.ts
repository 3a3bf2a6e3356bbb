import { z } from 'zod';
import { AppError } from '../errors.js';

/** Bounds of a backup's labels: few, short, plain. */
export const LABEL_LIMITS = { maxLabels: 16, maxKeyLength: 40, maxValueLength: 200 } as const;
/** A label key: letters, digits, `.`, `_`, `-` (never `:`, which separates key and value in a filter). */
export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// Printable text only: a label is shown in lists and logs.
const LABEL_VALUE = /^[^\p{Cc}]*$/u;

/** `labels` on create: `{ reason: "pre-migration" }`, string keys and values within {@link LABEL_LIMITS}. */
export const backupLabelsSchema = z
  .record(
    z.string(),
    z
      .string({ error: 'a label value is a string' })
      .max(LABEL_LIMITS.maxValueLength, `a label value is at most ${LABEL_LIMITS.maxValueLength} characters`)
      .regex(LABEL_VALUE, 'a label value cannot hold control characters'),
  )
  .superRefine((labels, ctx) => {
    const keys = Object.keys(labels);
    if (keys.length > LABEL_LIMITS.maxLabels)
      ctx.addIssue({ code: 'custom', message: `at most ${LABEL_LIMITS.maxLabels} labels` });
    for (const key of keys) {
      // Checked here rather than by a key schema, so the message names the key and says what is allowed.
      if (key.length > LABEL_LIMITS.maxKeyLength || !LABEL_KEY.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            `a label key is 1 to ${LABEL_LIMITS.maxKeyLength} letters, digits, . _ - (starting with a letter ` +
            `or digit)`,
        });
      }
    }
  });
export type BackupLabels = z.output<typeof backupLabelsSchema>;

/** A list filter: `key:value` (that label with that value) or `key` (that label, any value). */
export interface LabelFilter {
  key: string;
  value?: string;
}

/**
 * Parses `?label=reason:pre-migration` (the first `:` separates key and value) or `?label=reason`.
 * @throws AppError VALIDATION_ERROR for a key a label could not have
 */
export function parseLabelFilter(text: string): LabelFilter {
  const colon = text.indexOf(':');
  const key = colon < 0 ? text : text.slice(0, colon);
  if (!LABEL_KEY.test(key) || key.length > LABEL_LIMITS.maxKeyLength) {
    throw new AppError('VALIDATION_ERROR', 'Invalid label filter', [
      { path: 'querystring.label', message: 'use label=<key>:<value> or label=<key>; a key is letters, digits, . _ -' },
    ]);
  }
  return colon < 0 ? { key } : { key, value: text.slice(colon + 1) };
}

/**
 * Labels as stored (`BackupRecord.labels`, a Json column): only string values are shown; anything else reads as none.
 */
export const storedLabelsSchema = z
  .record(z.string(), z.unknown())
  .transform(
    (v): BackupLabels =>
      Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')),
  )
  .catch({});

export function readLabels(value: unknown): BackupLabels {
  return storedLabelsSchema.parse(value);
}
