import http from 'node:http';

export interface PacedResult {
  requests: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Open-loop load at a fixed rate: request i is due at start + i / rate, sent then over a pool of
 * keep-alive connections, and its latency is counted from when it was due, not from when it went out.
 * So a stalled server (or a busy client) cannot hide its delay by sending less: this is the
 * coordinated-omission-free way to measure "p99 at N requests/s". autocannon's `overallRate` instead
 * lets each connection send its share back to back at the top of every second, so 100 req/s arrives
 * as one burst of 100 requests, 10 at a time, then nothing for most of the second.
 */
export async function pacedLoad(opts: {
  /** One URL, or the URL of request `i` (the list row cycles through its pages). */
  url: string | ((i: number) => string);
  headers: Record<string, string>;
  rate: number;
  seconds: number;
  connections: number;
}): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const total = Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const start = performance.now() + 20;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      new Promise<void>((resolve) => {
        const url = typeof opts.url === 'string' ? opts.url : opts.url(i);
        const req = http.get(url, { agent, headers: opts.headers }, (res) => {
          if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            resolve();
          });
        });
        req.on('error', () => {
          errors++;
          resolve();
        });
      }),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN) * 10) / 10;
  return { requests: total, non2xx, errors, p50: at(0.5), p99: at(0.99), max: at(1) };
}
