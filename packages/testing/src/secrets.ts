import { appendFileSync, createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { SECRETS_FILE, formatFindings, loadSecrets, scanText } from '../../../scripts/lib/secret-scan.mjs';

/*
 * The run-wide secret check (scripts/check-secrets.mjs, run by npm test after vitest): every helper that
 * makes a secret records it here, and every service process's output is captured here, so a secret that
 * reaches a log anywhere in the suite fails the run. Without MP_TEST_LOG_DIR (vitest started by hand)
 * recording and capture do nothing.
 */

/** The run's capture folder (MP_TEST_LOG_DIR, set by scripts/test.mjs), or null. */
export function testLogDir(): string | null {
  const dir = process.env.MP_TEST_LOG_DIR;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Records a secret the tests created (a password, token, hash, API secret) for the end-of-run scan. */
export function recordSecret(kind: string, value: string | null | undefined): void {
  const dir = testLogDir();
  if (!dir || !value) return;
  // One small O_APPEND write per line: concurrent writers (test files, forks) do not interleave.
  appendFileSync(path.join(dir, SECRETS_FILE), `${JSON.stringify({ kind, value })}\n`);
}

/** A write stream to `<dir>/<name>.log` (name made file-safe), or null without a capture folder. */
export function captureLog(name: string): WriteStream | null {
  const dir = testLogDir();
  if (!dir) return null;
  return createWriteStream(path.join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.log`), { flags: 'a' });
}

/**
 * Reads every BullMQ key under `prefix` (job data, options, return values, failure reasons, stack traces,
 * events), writes it to the capture folder for the end-of-run scan (unless `capture: false`, for data a
 * test planted on purpose), and returns the lines that hold a recorded secret or a secret-shaped string
 * ('' when clean), masked.
 */
export async function scanQueueData(
  redisUrl: string,
  prefix: string,
  opts: { capture?: boolean; cluster?: boolean } = {},
): Promise<string> {
  const lines: string[] = [];
  // On a cluster the keys of a (hash-tagged) prefix sit on one master; every master is read.
  const nodes = opts.cluster ? await clusterMasterUrls(redisUrl) : [redisUrl];
  for (const url of nodes) {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, enableOfflineQueue: false });
    redis.on('error', () => {}); // a refused connection is reported by connect() below
    try {
      try {
        await redis.connect();
      } catch (err) {
        // A test that stopped Redis on purpose: nothing to read, and not a reason to fail its clean-up.
        process.stderr.write(`[secrets] queue data under ${prefix} not scanned: ${(err as Error).message}\n`);
        return '';
      }
      for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === 'hash')
            for (const [f, v] of Object.entries(await redis.hgetall(key))) lines.push(`${key} ${f}=${v}`);
          else if (type === 'string') lines.push(`${key}=${await redis.get(key)}`);
          else if (type === 'stream')
            for (const [id, fields] of await redis.xrange(key, '-', '+'))
              lines.push(`${key} ${id} ${fields.join(' ')}`);
          else if (type === 'list') for (const v of await redis.lrange(key, 0, -1)) lines.push(`${key} ${v}`);
        }
      }
    } finally {
      redis.disconnect();
    }
  }
  const text = lines.join('\n').replace(/\r/g, '');
  const dir = testLogDir();
  if (dir && opts.capture !== false)
    writeFileSync(path.join(dir, `redis-${prefix.replace(/[^A-Za-z0-9._-]/g, '_')}.log`), text);
  const found = scanText(text, dir ? loadSecrets(dir) : []);
  return formatFindings(found.map((f) => ({ file: `redis ${prefix}`, ...f })));
}

/** The URLs of a cluster's masters, asked of the node at `url`. */
async function clusterMasterUrls(url: string): Promise<string[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    const text = (await redis.call('CLUSTER', 'NODES')) as string;
    return text
      .split('\n')
      .filter((l) => l.includes('master') && !l.includes('fail'))
      .map((l) => `redis://${l.split(' ')[1]!.split('@')[0]}`);
  } catch {
    return [url];
  } finally {
    redis.disconnect();
  }
}

/** Response fields that carry a secret the API hands out (tokens, generated passwords, claim tokens). */
const SECRET_FIELDS = new Set(['token', 'password', 'claimToken', 'generatedPassword', 'newPassword']);

/** Records every {@link SECRET_FIELDS} string found anywhere in a parsed API answer (or request body). */
export function recordResponseSecrets(body: unknown, depth = 0): void {
  if (depth > 8 || body === null || typeof body !== 'object') return;
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string' && SECRET_FIELDS.has(key)) recordSecret(key, value);
    else recordResponseSecrets(value, depth + 1);
  }
}
