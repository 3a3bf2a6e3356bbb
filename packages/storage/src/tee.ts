import { PassThrough, type Readable } from 'node:stream';

/** Two readers of one stream; see {@link teeStream}. */
export interface Tee {
  /** The branch that must get every byte: if its reader gives up, the source and `secondary` are destroyed too. */
  primary: Readable;
  /** The branch that may fail alone: once its reader gives up, the source flows on into `primary` only. */
  secondary: Readable;
  /** True once `secondary` was given up before the source ended (its reader failed). */
  secondaryDropped(): boolean;
}

/**
 * Splits `source` into two readable branches that see the same bytes, with back-pressure from both: the
 * source is read only while each open branch has room, so memory holds at most the two branches' buffers
 * (`highWaterMark` each side of each PassThrough) whatever the size of the stream.
 *
 * Meant for writing a file to two places at once (the local file and a cloud upload): a failing or
 * slow-to-fail `secondary` never stops `primary` (the upload can be retried from the finished file), while
 * a failing `primary` stops everything. A source error destroys both branches with it.
 */
export function teeStream(source: Readable, opts: { secondaryHighWaterMark?: number } = {}): Tee {
  const primary = new PassThrough();
  const secondary = new PassThrough(opts.secondaryHighWaterMark ? { highWaterMark: opts.secondaryHighWaterMark } : {});
  let secondaryOpen = true;
  let waitPrimary = false;
  let waitSecondary = false;

  const resumeWhenFree = () => {
    if (!waitPrimary && !waitSecondary && !source.destroyed) source.resume();
  };
  const dropSecondary = () => {
    if (!secondaryOpen) return;
    secondaryOpen = false;
    waitSecondary = false;
    resumeWhenFree();
  };

  primary.on('drain', () => {
    waitPrimary = false;
    resumeWhenFree();
  });
  secondary.on('drain', () => {
    waitSecondary = false;
    resumeWhenFree();
  });
  // A branch closing before all its bytes were read means its reader gave up.
  secondary.on('close', () => {
    if (!secondary.readableEnded) dropSecondary();
  });
  primary.on('close', () => {
    if (primary.readableEnded) return;
    const why = new Error('the primary copy stopped before the end');
    source.destroy(why);
    secondary.destroy(why);
  });
  // Errors reach the readers through their own stream calls; these listeners only keep them from being uncaught.
  primary.on('error', () => {});
  secondary.on('error', () => {});

  source.on('data', (chunk: Buffer) => {
    if (!primary.write(chunk)) waitPrimary = true;
    if (secondaryOpen && !secondary.write(chunk)) waitSecondary = true;
    if (waitPrimary || waitSecondary) source.pause();
  });
  source.on('end', () => {
    primary.end();
    if (secondaryOpen) secondary.end();
  });
  source.on('error', (err) => {
    primary.destroy(err);
    secondary.destroy(err);
  });
  source.on('close', () => {
    // Closed without 'end' or 'error' (destroyed without a reason): nothing more will come.
    if (!source.readableEnded && !primary.destroyed) {
      const why = new Error('the source stopped before the end');
      primary.destroy(why);
      secondary.destroy(why);
    }
  });

  return { primary, secondary, secondaryDropped: () => !secondaryOpen };
}
