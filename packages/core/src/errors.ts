/**
 * Every domain error code the product raises. The API maps each to an HTTP status in one table
 * (services/api/src/plugins/error-handler.ts); core never speaks HTTP.
 */
export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'UNAUTHORIZED',
  'INVALID_CREDENTIALS',
  'SESSION_EXPIRED',
  'FORBIDDEN',
  'PASSWORD_CHANGE_REQUIRED',
  'NOT_FOUND',
  'BACKUP_NOT_FOUND',
  'JOB_NOT_FOUND',
  'ENTITY_NOT_FOUND',
  'ENTITY_NOT_IN_BACKUP',
  'ENTITY_RESTORE_CONFLICT',
  'BACKUP_NOT_READY',
  'BACKUP_IN_PROGRESS',
  'BACKUP_FILE_MISSING',
  'CHECKSUM_MISMATCH',
  'OPERATION_IN_PROGRESS',
  'UNDO_NOT_AVAILABLE',
  'MAINTENANCE_ACTIVE',
  'CLOUD_STORAGE_NOT_CONFIGURED',
  'INVALID_BACKUP_FILE',
  'RESTORE_WOULD_BREAK_REFERENCES',
  'UNSUPPORTED_BACKUP_VERSION',
  'BACKUP_KEY_UNAVAILABLE',
  'BACKUP_DECRYPTION_FAILED',
  'BACKUP_TRUNCATED',
  'DRILL_FAILED',
  'DRILL_NOT_PERMITTED',
  'INVALID_CONFIRMATION_TOKEN',
  'UNSUPPORTED_ENTITY_TYPE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'QUEUE_UNAVAILABLE',
  'STORAGE_ERROR',
  'NOT_READY',
  'INTERNAL_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The one error type of the product: a stable code, a message a person can act on, optional details. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
