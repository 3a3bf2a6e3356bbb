import { createInterface } from 'node:readline';

/** Asks a question on the terminal; `hidden` keeps a password off the screen. */
export function ask(question: string, opts: { hidden?: boolean } = {}): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  const rl = createInterface({ input, output, terminal: input.isTTY === true });
  if (opts.hidden && input.isTTY) {
    // Echo nothing for what is typed (readline writes through _writeToOutput).
    const mutable = rl as unknown as { _writeToOutput: (s: string) => void };
    output.write(question);
    mutable._writeToOutput = () => {};
    return new Promise((resolve) =>
      rl.question('', (answer) => {
        output.write('\n');
        rl.close();
        resolve(answer);
      }),
    );
  }
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    }),
  );
}

/** The first line of standard input (for `--password-stdin`). */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (chunk.includes(0x0a)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}
