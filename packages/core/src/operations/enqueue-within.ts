import type { JobName, JobPayload, Producer } from '@mp/jobs';

/** How long an enqueue may take before the API answers 503 instead of hanging. */
export const ENQUEUE_TIMEOUT_MS = 3_000;

/**
 * `producer.enqueue` bounded by {@link ENQUEUE_TIMEOUT_MS}: while Redis is unreachable BullMQ waits for the
 * connection instead of failing, which would hang the request.
 * Trap: after a timeout the add may still land once Redis is back; the caller has already marked the row
 * failed, and the worker must skip a job whose row is no longer queued.
 */
export async function enqueueWithin<N extends JobName>(
  producer: Producer,
  name: N,
  payload: JobPayload<N>,
  jobId: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`enqueue of ${name} timed out after ${ENQUEUE_TIMEOUT_MS} ms`)),
      ENQUEUE_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([producer.enqueue(name, payload, { jobId }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
