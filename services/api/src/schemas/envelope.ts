import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '@mp/core';
import { HTTP_STATUS } from '../plugins/error-handler.js';

/**
 * The `error` of every refusal: one of the closed set of codes (packages/core/src/errors.ts), a message a
 * person can act on, and details when there is a list to read (validation paths, a refused file's `problems`).
 * Registered as the `ApiError` component of /docs.
 */
export const apiErrorSchema = z
  .object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z
      .unknown()
      .optional()
      .meta({ description: 'Validation paths, `problems`, the blocking job: whatever the code carries' }),
  })
  .meta({ id: 'ApiError', description: 'A refusal: stable code, readable message, optional details' });

const errorEnvelope = z.object({ success: z.literal(false), error: apiErrorSchema });

/** A sample message per code, for the examples /docs shows; typed against the closed set, so a new code needs one. */
const EXAMPLE_MESSAGES: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'Request validation failed',
  UNAUTHORIZED: 'Authentication required',
  INVALID_CREDENTIALS: 'Invalid username or password',
  SESSION_EXPIRED: 'Token expired; log in again',
  FORBIDDEN: 'This action needs the role ADMIN',
  PASSWORD_CHANGE_REQUIRED: 'Change your password first: POST /api/auth/change-password',
  NOT_FOUND: 'Operation 7d9f0c1e-4b8a-4c52-9a41-2f1e6b3c8d90 does not exist',
  BACKUP_NOT_FOUND: 'Backup 1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c not found',
  JOB_NOT_FOUND: 'Job 1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c not found',
  ENTITY_NOT_FOUND: 'No union with id 4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c',
  ENTITY_NOT_IN_BACKUP: 'The backup holds no union with id 4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c',
  ENTITY_RESTORE_CONFLICT: 'A live row already holds a unique value of the entity',
  BACKUP_NOT_READY: 'Backup 1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c is running; it cannot be downloaded yet',
  BACKUP_IN_PROGRESS: 'Backup 1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c is running; wait for it to finish',
  BACKUP_FILE_MISSING: 'The file of backup 1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c is missing from local storage',
  CHECKSUM_MISMATCH: 'The stored file does not match its checksum',
  OPERATION_IN_PROGRESS: 'A restore is already running; wait for it to finish',
  UNDO_NOT_AVAILABLE:
    'Cannot undo restore 7d9f0c1e-4b8a-4c52-9a41-2f1e6b3c8d90: the undo window closed at 2026-11-25T12:00:00.000Z',
  MAINTENANCE_ACTIVE: 'Maintenance in progress (restore); try again later',
  CLOUD_STORAGE_NOT_CONFIGURED: 'Location "cloud" needs Cloudinary, which is not configured',
  INVALID_BACKUP_FILE:
    'The backup file is not valid; nothing was changed: 1 problem: data.loans[12].principal: not a decimal',
  RESTORE_WOULD_BREAK_REFERENCES: 'Restoring only these tables would break references to kept tables',
  UNSUPPORTED_BACKUP_VERSION: 'Backup format 2.0 is newer than this service reads (1.0)',
  BACKUP_KEY_UNAVAILABLE: 'The key this backup is encrypted with is not configured',
  BACKUP_DECRYPTION_FAILED: 'The backup could not be decrypted with its key',
  BACKUP_TRUNCATED: 'The backup file ends early',
  DRILL_FAILED: 'The restored tables differ from the file',
  DRILL_NOT_PERMITTED: 'The database role may not create the scratch database a drill needs',
  INVALID_CONFIRMATION_TOKEN: 'confirmationToken must be exactly "DELETE"',
  UNSUPPORTED_ENTITY_TYPE: 'Unsupported entity type "invoice"; supported: user, union, unionMember, loanType',
  PAYLOAD_TOO_LARGE: 'The request body is larger than allowed',
  UNSUPPORTED_MEDIA_TYPE: 'Content type "text/csv" is not accepted: send application/json',
  RATE_LIMITED: 'Too many attempts; retry in 1 minute',
  QUEUE_UNAVAILABLE: 'The job queue is unavailable; try again shortly',
  STORAGE_ERROR: 'A stored copy could not be deleted; the record was kept',
  NOT_READY: 'Not ready',
  INTERNAL_ERROR: 'An unexpected error occurred',
};

/**
 * The error responses of a route, one per HTTP status its `codes` map to (the error handler's table), each
 * naming its codes and showing one example per code. Every error a route can answer goes through these
 * schemas when Fastify serializes it.
 */
export function errorResponses(codes: readonly ErrorCode[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      errorEnvelope.meta({
        description: `Refused: ${list.join(', ')}`,
        examples: list.map((code) => ({ success: false, error: { code, message: EXAMPLE_MESSAGES[code] } })),
      }),
    ]),
  );
}

/** Codes any authenticated, ADMIN-only route can answer before its handler runs (plus the hidden 500). */
export const ADMIN_ERRORS = [
  'UNAUTHORIZED',
  'SESSION_EXPIRED',
  'FORBIDDEN',
  'PASSWORD_CHANGE_REQUIRED',
  'INTERNAL_ERROR',
] as const satisfies readonly ErrorCode[];
/** Codes of a route that reads a JSON body (fastify's own refusals included). */
export const BODY_ERRORS = [
  'VALIDATION_ERROR',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const satisfies readonly ErrorCode[];

/**
 * `{ success: true, data, message? }` around `data`, with one example of the whole answer (shown by /docs).
 * Use as the 2xx entry of a route's `response`; the handler answers with `ok()` / `accepted()` from reply.ts.
 */
export function okResponse<T extends z.ZodType>(
  data: T,
  doc: { description: string; example: unknown; message?: string },
) {
  const example =
    doc.message === undefined
      ? { success: true, data: doc.example }
      : { success: true, data: doc.example, message: doc.message };
  return z
    .object({ success: z.literal(true), data, message: z.string().optional() })
    .meta({ description: doc.description, examples: [example] });
}

/**
 * A zod object with exactly the keys of `T` (the type a core view mapper returns): a key the core adds and the
 * schema lacks fails to compile, rather than vanishing from the answer (response schemas strip unknown keys).
 * Value types are checked by the route's handler against the schema.
 */
export function viewOf<T>() {
  return <S extends { [K in keyof T]-?: z.ZodType }>(shape: S & Record<Exclude<keyof S, keyof T>, never>) =>
    z.object(shape);
}
