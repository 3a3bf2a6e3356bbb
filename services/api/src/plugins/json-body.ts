import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '@mp/core';

/**
 * Deepest nesting of objects and arrays a JSON body may have. A backup row is two or three levels
 * deep (plus its own JSON columns); what reads a body afterwards (`JSON.stringify`, zod, the
 * worker's checks) recurses, and a body 100,000 levels deep overflows the stack there.
 */
export const MAX_JSON_DEPTH = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The byte offset where `body` first nests deeper than `max` levels, or -1. Linear and iterative:
 * strings are skipped (brackets inside them do not count). Meant to run before `JSON.parse`, so
 * nothing recursive ever sees a deeper document; it does not validate the JSON itself.
 */
export function findExcessNesting(body: Buffer, max: number): number {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === QUOTE) {
      i = stringEnd(body, i + 1);
      if (i < 0) return -1; // unterminated: JSON.parse says so
    } else if (b === 0x7b || b === 0x5b) {
      if (++depth > max) return i;
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return -1;
}

/** Index of the quote closing a string that starts at `from`, or -1 when the body ends first. */
function stringEnd(body: Buffer, from: number): number {
  let q = body.indexOf(QUOTE, from);
  while (q >= 0) {
    let slashes = 0;
    while (body[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
    q = body.indexOf(QUOTE, q + 1);
  }
  return -1;
}

const PROTO_KEY = Buffer.from('"__proto__"');

/**
 * Parses a JSON body, refusing what the routes cannot safely read: empty bodies, bodies nested
 * deeper than {@link MAX_JSON_DEPTH}, invalid JSON and `__proto__` keys (as fastify's own parser
 * does). Every refusal is a 400 `VALIDATION_ERROR` whose message says what to change.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) {
    throw new AppError(
      'VALIDATION_ERROR',
      'The request body is empty; send a JSON object (or omit the content-type header)',
    );
  }
  const deep = findExcessNesting(body, MAX_JSON_DEPTH);
  if (deep >= 0) {
    throw new AppError(
      'VALIDATION_ERROR',
      `The request body nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels (at byte ${deep}); no valid ` +
        `request does`,
    );
  }
  const text = body.toString('utf8');
  try {
    // The reviver is slow, so it runs only on the rare body that spells the key at all.
    return body.includes(PROTO_KEY) ? JSON.parse(text, refuseProtoKey) : JSON.parse(text);
  } catch (err) {
    if (err instanceof AppError) throw err;
    const reason = err instanceof Error ? err.message.slice(0, 200) : 'unreadable';
    throw new AppError('VALIDATION_ERROR', `The request body is not valid JSON (${reason})`);
  }
}

function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === '__proto__')
    throw new AppError(
      'VALIDATION_ERROR',
      'The request body has a "__proto__" key, which no field of this API is called',
    );
  return value;
}

/**
 * Replaces fastify's JSON parser with {@link parseJsonBody} and drops its text/plain one (no route
 * takes text, and a string body would otherwise reach the routes as if it were JSON). Body limits
 * stay fastify's (route `bodyLimit`); any other content type is a 415.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (_request: FastifyRequest, body: Buffer, done) => {
      try {
        done(null, parseJsonBody(body));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
}
