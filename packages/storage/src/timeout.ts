/**
 * The outcome of `promise`, or, when `ms` pass first, that of `onTimeout()`: what it returns is the answer,
 * what it throws is the rejection. The timer is cleared either way. The one timeout helper of storage, core and
 * the services (a fallback value: `() => null`; a failure: `() => { throw … }`). It lives in this bottom-layer
 * package because storage may import no other workspace; core re-exports it.
 * Trap: nothing is cancelled; the work behind `promise` may still finish, or fail unobserved, afterwards.
 */
export async function settleWithin<T, F = never>(promise: Promise<T>, ms: number, onTimeout: () => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
