import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';

/**
 * A multipart/form-data body that streams `file` (field "file", after the text `fields`, as the API asks),
 * with a progress bar of bytes sent on an interactive terminal. Memory stays flat whatever the file size.
 */
export async function multipartUpload(
  file: string,
  fields: Record<string, string>,
  opts: { quiet: boolean; stream?: NodeJS.WriteStream },
): Promise<{ body: ReadableStream<Uint8Array>; contentType: string; length: number }> {
  const stream = opts.stream ?? process.stderr;
  const size = (await stat(file)).size;
  const boundary = `----mp-backup-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    Object.entries(fields)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="` +
      `${path.basename(file).replace(/["\r\n]/g, '_')}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const bar =
    !opts.quiet && stream.isTTY
      ? new cliProgress.SingleBar(
          { format: 'upload {bar} {percentage}% | {value}/{total} bytes', stream },
          cliProgress.Presets.shades_classic,
        )
      : null;
  bar?.start(size, 0);
  let sent = 0;
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield head;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      bar?.update(sent);
      yield chunk;
    }
    bar?.stop();
    if (!bar && !opts.quiet) stream.write(`uploaded ${sent} bytes\n`);
    yield tail;
  }
  const iterator = parts();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      bar?.stop();
      await iterator.return(undefined);
    },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, length: head.length + size + tail.length };
}
