import { statusUrlOf } from './schemas/accepted.js';

/** The success envelope every route answers with. */
export function ok<T>(data: T, message?: string): { success: true; data: T; message?: string } {
  return message === undefined ? { success: true, data } : { success: true, data, message };
}

/**
 * The 202 answer of a route that queued a job: what core accepted plus `statusUrl`, in the envelope.
 * Use as `reply.code(202).send(accepted(await requestX(…), 'X queued'))`, with `acceptedResponse` as its schema.
 */
export function accepted<T extends { jobId: string }>(data: T, message: string) {
  return ok({ ...data, statusUrl: statusUrlOf(data.jobId) }, message);
}
