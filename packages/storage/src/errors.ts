/** Stable codes a caller can branch on; core maps them to its own `AppError` codes. */
export type StorageErrorCode =
  /** The key is not a flat file name (traversal, separators, hidden or temp names). Never retryable. */
  | 'STORAGE_INVALID_KEY'
  /** The object does not exist in this storage. */
  | 'STORAGE_NOT_FOUND'
  /** The cloud answered with an error, timed out, or could not be reached. */
  | 'STORAGE_CLOUD_ERROR'
  /** The local backup folder cannot take the file: disk full, read-only, no permission, not a folder. */
  | 'STORAGE_UNWRITABLE';

/**
 * The only error type the storage drivers throw on their own account (local file-system errors other
 * than "not found" and the unwritable folder pass through unchanged). Its message and fields never carry credentials:
 * cloud
 * failures keep only the HTTP status and the provider's message, never the SDK's error object.
 */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** HTTP status the cloud answered, when there was one (499 = the SDK's request timeout). */
    readonly status?: number,
    /** False when repeating the same call cannot succeed (bad credentials, bad request, missing object). */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** Type guard for {@link StorageError}. */
export function isStorageError(err: unknown): err is StorageError {
  return err instanceof StorageError;
}
