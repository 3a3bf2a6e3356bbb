import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, isAppError, type ErrorCode } from '@mp/core';

/** The one table from domain error code to HTTP status. Core never chooses a status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  SESSION_EXPIRED: 401,
  FORBIDDEN: 403,
  PASSWORD_CHANGE_REQUIRED: 403,
  NOT_FOUND: 404,
  BACKUP_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  ENTITY_NOT_FOUND: 404,
  ENTITY_NOT_IN_BACKUP: 404,
  ENTITY_RESTORE_CONFLICT: 409,
  BACKUP_FILE_MISSING: 404,
  BACKUP_NOT_READY: 409,
  BACKUP_IN_PROGRESS: 409,
  OPERATION_IN_PROGRESS: 409,
  UNDO_NOT_AVAILABLE: 409,
  CHECKSUM_MISMATCH: 422,
  INVALID_BACKUP_FILE: 422,
  RESTORE_WOULD_BREAK_REFERENCES: 409,
  UNSUPPORTED_BACKUP_VERSION: 422,
  BACKUP_KEY_UNAVAILABLE: 422,
  BACKUP_DECRYPTION_FAILED: 422,
  BACKUP_TRUNCATED: 422,
  DRILL_FAILED: 422,
  DRILL_NOT_PERMITTED: 503,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  MAINTENANCE_ACTIVE: 503,
  QUEUE_UNAVAILABLE: 503,
  NOT_READY: 503,
  CLOUD_STORAGE_NOT_CONFIGURED: 400,
  INVALID_CONFIRMATION_TOKEN: 400,
  UNSUPPORTED_ENTITY_TYPE: 400,
  STORAGE_ERROR: 502,
  INTERNAL_ERROR: 500,
};

interface Detail {
  path: string;
  message: string;
}

type ValidationIssue = { keyword?: string; instancePath?: string; message?: string; params?: { keys?: unknown } };

/** `body.location: Invalid option…`, one entry per field; each unknown key gets its own entry. */
function validationDetails(context: string | undefined, issues: ValidationIssue[]): Detail[] {
  return issues.flatMap((v) => {
    const path = [context ?? 'request', ...(v.instancePath ?? '').split('/').filter(Boolean)].join('.');
    const keys = v.params?.keys;
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0) {
      return keys.map((k) => ({ path: `${path}.${String(k)}`, message: 'unknown field' }));
    }
    return [{ path, message: v.message ?? 'invalid' }];
  });
}

/** Turns fastify's and its plugins' own errors (bad JSON, body too large, …) into domain errors. */
function fromFrameworkError(err: FastifyError, request: FastifyRequest): AppError | null {
  if (hasZodFastifySchemaValidationErrors(err) || err.validation) {
    return new AppError(
      'VALIDATION_ERROR',
      'Request validation failed',
      validationDetails(err.validationContext, err.validation ?? []),
    );
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'The request body is larger than allowed');
  if (status === 415) {
    // Fastify's message does not always name the type; the request's own header does.
    const header = request.headers['content-type'];
    const type = (typeof header === 'string' && header.split(';')[0]!.trim().slice(0, 100)) || 'none';
    return new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content type "${type}" is not accepted: send application/json (POST /api/backup/restore also takes a ` +
        `multipart/form-data upload)`,
    );
  }
  if (status === 429) return new AppError('RATE_LIMITED', 'Too many requests; try again later');
  if (status === 404) return new AppError('NOT_FOUND', 'Not found');
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AppError('VALIDATION_ERROR', 'The request body is not valid JSON');
  }
  if (status >= 400 && status < 500) return new AppError('VALIDATION_ERROR', err.message);
  return null;
}

/**
 * Registers the one error handler and the not-found handler. Statuses come from {@link HTTP_STATUS};
 * anything unknown is a 500 whose message is hidden from the client and logged with the request context.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = isAppError(error) ? error : fromFrameworkError(error, request);
    const ctx = { reqId: request.id, method: request.method, url: request.url, userId: request.user?.id };
    if (!appError) {
      request.log.error({ ...ctx, err: error }, 'unhandled error');
      return reply.code(500).send(envelope('INTERNAL_ERROR', 'An unexpected error occurred'));
    }
    const status = HTTP_STATUS[appError.code];
    if (status >= 500) request.log.warn({ ...ctx, code: appError.code, err: appError }, appError.message);
    else request.log.debug({ ...ctx, code: appError.code }, appError.message);
    return reply.code(status).send(envelope(appError.code, appError.message, appError.details));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(envelope('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`));
  });
}

/**
 * Answers a domain error with its status and the error envelope, for the few places another plugin's error
 * handler owns the route (the queue dashboard's hooks): everything else throws and lets the handler above answer.
 */
export function sendAppError(reply: FastifyReply, err: AppError): FastifyReply {
  return reply.code(HTTP_STATUS[err.code]).send(envelope(err.code, err.message, err.details));
}

function envelope(code: ErrorCode, message: string, details?: unknown) {
  return { success: false as const, error: details === undefined ? { code, message } : { code, message, details } };
}
