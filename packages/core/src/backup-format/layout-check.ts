import { CLOSE_BRACKET, COMMA, NEWLINE } from './bytes.js';
import { jsonObjectProblem } from './json-check.js';
import { ScanError } from './json-scanner.js';
import { type LayoutState, type LayoutStep, layoutStep, MAX_LINE, rowLineProblem } from './line-reader.js';

const EMPTY: Buffer = Buffer.alloc(0);

/** A row that is not one JSON object; `table` is its key under `data`, `row` its 0-based index. */
export class LayoutRowError extends Error {
  constructor(
    readonly table: string,
    readonly row: number,
    readonly problem: string,
  ) {
    super(
      problem.startsWith('not a JSON object')
        ? `${table}: row ${row} is not a JSON object`
        : `${table}: row ${row} is not valid JSON (${problem})`,
    );
    this.name = 'LayoutRowError';
  }
}

/**
 * Checks the rest of a backup document laid out as this product writes it, after its metadata line
 * (the layout `LineReader` reads for the restore, defined once in {@link layoutStep} and
 * {@link rowLineProblem}: `"data":{`, then per table `"<key>":[`, one row per line with a leading `,`
 * from the second on, `]` or `],`, and `}}` last). Every row is checked to be one JSON object
 * ({@link jsonObjectProblem}) where it lies in the piece it came in: lines are found with the native
 * `indexOf`, so the only loop over the bytes in JavaScript is the row check itself.
 * Rows are counted per table. Any other layout is a {@link ScanError}: only used for files whose first
 * line is this product's metadata line.
 */
export class LayoutChecker {
  private state: LayoutState = 'data';
  private rest = EMPTY;
  private line = 1; // the metadata line has been read
  private offset: number;
  private key = '';
  private rows = 0;
  readonly counts = new Map<string, number>();

  /** @param offset bytes already read (the metadata line and its newline), so error positions are file offsets. */
  constructor(offset: number) {
    this.offset = offset;
  }

  push(chunk: Buffer): void {
    let start = 0;
    if (this.rest.length > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.keep(Buffer.concat([this.rest, chunk]));
        return;
      }
      const line = Buffer.concat([this.rest, chunk.subarray(0, nl)]);
      this.rest = EMPTY;
      this.lineAt(line, 0, line.length);
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.lineAt(chunk, start, nl);
      start = nl + 1;
    }
    // Copied, so the piece it came from is not kept alive.
    this.keep(Buffer.from(chunk.subarray(start)));
  }

  /** Call at the end of input; throws when the document is incomplete. */
  end(): void {
    if (this.rest.length > 0) this.fail('the file does not end with a newline');
    if (this.state !== 'done') this.fail('the file ends before the document is complete');
  }

  private keep(rest: Buffer): void {
    if (rest.length > MAX_LINE) this.fail(`a line longer than ${MAX_LINE} bytes`);
    this.rest = rest;
  }

  private lineAt(data: Buffer, start: number, end: number): void {
    this.line++;
    if (this.state === 'rows' || this.state === 'firstRow') {
      const first = data[start];
      if (first === CLOSE_BRACKET) this.endTable(data.toString('latin1', start, end));
      else {
        const rowProblem = rowLineProblem(this.state, first);
        if (rowProblem !== null) this.fail(rowProblem);
        this.state = 'rows';
        const problem = jsonObjectProblem(data, first === COMMA ? start + 1 : start, end);
        if (problem !== null) throw new LayoutRowError(this.key, this.rows, problem);
        this.rows++;
      }
    } else this.structure(data.toString('utf8', start, end));
    this.offset += end + 1 - start;
  }

  private structure(line: string): void {
    const step = this.step(line);
    if (step.key !== undefined) {
      if (this.counts.has(step.key)) this.fail(`table "data.${step.key}" appears twice`);
      this.counts.set(step.key, 0);
      this.key = step.key;
      this.rows = 0;
    }
    this.state = step.state;
  }

  private endTable(line: string): void {
    const step = this.step(line);
    this.counts.set(this.key, this.rows);
    this.state = step.state;
  }

  private step(line: string): LayoutStep {
    const step = layoutStep(this.state, line, this.counts.size);
    if (typeof step === 'string') this.fail(step);
    return step;
  }

  private fail(problem: string): never {
    throw new ScanError(`${problem} (line ${this.line})`, this.offset);
  }
}
