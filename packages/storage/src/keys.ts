import { StorageError } from './errors.js';

/** A flat file name: starts with a letter or digit, then letters, digits, `.`, `_`, `-`; at most 200 characters. */
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Infix of the temporary files the local driver writes before renaming; no key may contain it. */
export const TEMP_INFIX = '.tmp-';

/**
 * Throws `STORAGE_INVALID_KEY` unless `key` is a flat file name that cannot leave the storage root:
 * no `/` or `\`, no `..`, not absolute, not hidden, not a temporary name. The same rule holds for
 * every driver so a key valid in one location is valid in all.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key) || key.includes('..') || key.includes(TEMP_INFIX)) {
    throw new StorageError(
      'STORAGE_INVALID_KEY',
      `Invalid storage key ${JSON.stringify(String(key).slice(0, 80))}: use a flat file name`,
    );
  }
}

/** Like {@link assertValidKey} for list prefixes, where the empty string is allowed. */
export function assertValidPrefix(prefix: string): void {
  if (prefix !== '') assertValidKey(prefix);
}
