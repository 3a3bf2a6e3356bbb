import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** The SHA-256 (hex) and the number of bytes of everything that passed. */
export interface Sha256Result {
  sha256: string;
  bytes: number;
}

/**
 * A running SHA-256 and byte count of bytes as they pass: `add` each chunk, read `result()` after the last.
 * The one streaming hash of the code base (exports, restores, read-backs, re-keys and inspections all count
 * stored bytes with it). Trap: the first `result()` closes the hash; an `add` after it throws.
 */
export class Sha256Tally {
  readonly #hash = createHash('sha256');
  #digest: string | undefined;
  bytes = 0;

  add(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
  }

  result(): Sha256Result {
    this.#digest ??= this.#hash.digest('hex');
    return { sha256: this.#digest, bytes: this.bytes };
  }
}

/** Yields `source`'s chunks unchanged, each added to `tally` first; `onBytes` receives the running total. */
export async function* tallied(
  source: AsyncIterable<Buffer>,
  tally: Sha256Tally,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    tally.add(chunk);
    onBytes?.(tally.bytes);
    yield chunk;
  }
}

/** Reads `source` to its end: its SHA-256 and size. */
export async function sha256Of(source: AsyncIterable<Buffer>): Promise<Sha256Result> {
  const tally = new Sha256Tally();
  for await (const chunk of source) tally.add(chunk);
  return tally.result();
}

/** Counts and hashes the bytes flowing through; read the totals after the stream ends. */
export function digesting(source: AsyncIterable<Buffer>): { stream: Readable; result: () => Sha256Result } {
  const tally = new Sha256Tally();
  return { stream: Readable.from(tallied(source, tally)), result: () => tally.result() };
}
