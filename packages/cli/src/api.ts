import { CliError, EXIT } from './exit-codes.js';

/** The API's answer envelope. */
interface Envelope<T> {
  success: boolean;
  data?: T;
  message?: string;
  error?: { code?: string; message?: string; details?: unknown };
}

/** A refusal as a person reads it: the API's message, its code, and the first of its details. */
function refusal(status: number, body: Envelope<unknown> | null, fallback: string): CliError {
  const code = body?.error?.code;
  const message = body?.error?.message ?? fallback;
  const details = body?.error?.details;
  const list = Array.isArray(details)
    ? details.map((d) =>
        typeof d === 'object' && d ? Object.values(d as Record<string, unknown>).join(': ') : String(d),
      )
    : [];
  const text = [`${message}${code ? ` (${code})` : ''}`, ...list.slice(0, 10).map((l) => `  - ${l}`)].join('\n');
  const exitCode =
    status === 401 || status === 403
      ? EXIT.AUTH
      : status === 404
        ? EXIT.NOT_FOUND
        : status >= 500
          ? EXIT.UNAVAILABLE
          : EXIT.REFUSED;
  return new CliError(text, exitCode, { code, problems: list });
}

/** A small client for the backup API: bearer token, JSON envelopes, readable refusals. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
  ) {}

  private url(path: string): string {
    return new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`).toString();
  }

  /** `fetch` with the token; an unreachable API is exit code UNAVAILABLE with the address in the message. */
  async fetch(path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('authorization', `Bearer ${this.token}`);
    try {
      return await fetch(this.url(path), { ...init, headers });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `Cannot reach the API at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        EXIT.UNAVAILABLE,
      );
    }
  }

  /** Sends JSON (when `body` is given) and answers the envelope's `data`, or throws the API's refusal. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return this.read<T>(res);
  }

  /** The `data` of an answer, or the refusal it carries. */
  async read<T>(res: Response): Promise<T> {
    const text = await res.text();
    let parsed: Envelope<T> | null = null;
    try {
      parsed = text ? (JSON.parse(text) as Envelope<T>) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) throw refusal(res.status, parsed, `HTTP ${res.status} ${res.statusText}`);
    if (parsed?.success !== true)
      throw new CliError(`Unexpected answer from the API (HTTP ${res.status})`, EXIT.FAILURE);
    return parsed.data as T;
  }
}
