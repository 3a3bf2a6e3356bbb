import { z } from 'zod';
import { okResponse } from './envelope.js';
import { EXAMPLE_IDS } from './params.js';

/** Where a queued job's state is polled. */
export const statusUrlOf = (jobId: string): string => `/api/backup/jobs/${jobId}`;

const acceptedShape = {
  jobId: z.string().meta({ description: 'Poll GET /api/backup/jobs/:jobId' }),
  statusUrl: z.string().meta({ description: 'The same, as a path' }),
};

/**
 * The 202 answer of every route that queues a job: `{ jobId, statusUrl }` plus what the request adds (a backup's
 * `backupId`, `filename`, `status`; an operation's `operationId`; a reset's `claimToken`; an undo's `discards`).
 * The handler answers with `accepted()` from reply.ts, which adds `statusUrl`.
 */
export function acceptedResponse<S extends z.ZodRawShape>(
  extra: S,
  doc: { description: string; message: string; example: { jobId: string } & Record<string, unknown> },
) {
  return okResponse(z.object({ ...acceptedShape, ...extra }), {
    description: `${doc.description}; poll \`statusUrl\` for progress and the result`,
    message: doc.message,
    example: { ...doc.example, statusUrl: statusUrlOf(doc.example.jobId) },
  });
}

/**
 * The 202 of a queued operation (restore, preview, verify, drill, …): `{ operationId, jobId, statusUrl }`, the ids
 * equal.
 */
export function operationAccepted<S extends z.ZodRawShape = Record<never, never>>(
  doc: { description: string; message: string },
  extra: S = {} as S,
  example: Record<string, unknown> = {},
) {
  return acceptedResponse(
    { operationId: z.uuid(), ...extra },
    { ...doc, example: { operationId: EXAMPLE_IDS.operation, jobId: EXAMPLE_IDS.operation, ...example } },
  );
}
