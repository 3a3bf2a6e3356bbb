import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface PacedResult {
  requests: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** Latest a request went out after it was due (ms): the load generator's own lag, counted in the latencies. */
  sendLagMax: number;
  /** Longest event-loop delay of the load generator's process during the load (ms). */
  clientLoopDelayMax: number;
  /** When the load ran (epoch ms), to match the server's own log lines. */
  window: { from: number; to: number };
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
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const from = Date.now();
  let sendLagMax = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sendLagMax = Math.max(sendLagMax, performance.now() - due);
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
  loopDelay.disable();
  const to = Date.now();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN) * 10) / 10;
  return {
    requests: total,
    non2xx,
    errors,
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    sendLagMax: Math.round(sendLagMax * 10) / 10,
    clientLoopDelayMax: Math.round(loopDelay.max / 1e5) / 10,
    window: { from, to },
  };
}

/** The server's own account of the same requests: `responseTime` of its "request completed" log lines. */
export interface ServerTimes {
  requests: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Reads the API's log (one pino JSON line per request, `responseTime` in ms from the moment Fastify took the
 * request to the reply) for the requests whose URL starts with `urlPrefix` and whose line was written within
 * `window`. Beside the client's latencies it tells where a stall was: inside a request's handling (the
 * server's times show it) or before the server read the request (only the client's do).
 */
export async function serverTimes(
  logFile: string,
  window: { from: number; to: number },
  urlPrefix: string,
): Promise<ServerTimes> {
  // The bench process appends the service's output to its log as it arrives: give the last lines a moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const times: number[] = [];
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes('"request completed"')) continue;
    let entry: { time?: number; url?: string; responseTime?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const { time, url, responseTime } = entry;
    if (time === undefined || responseTime === undefined || !url?.startsWith(urlPrefix)) continue;
    if (time >= window.from && time <= window.to + 1000) times.push(responseTime);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN) * 10) / 10;
  return { requests: times.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}
