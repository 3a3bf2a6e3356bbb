// The in-process API test context's log capture (packages/testing/src/api.ts): what the end-of-run secret scan reads.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createApiTestContext } from '@mp/testing';

let dir: string;
let runDir: string | undefined;

beforeEach(async () => {
  // A capture folder of this test's own, so the file can be read back without touching the run's.
  runDir = process.env.MP_TEST_LOG_DIR;
  dir = await mkdtemp(path.join(tmpdir(), 'mp-capture-test-'));
  process.env.MP_TEST_LOG_DIR = dir;
});

afterEach(async () => {
  if (runDir === undefined) delete process.env.MP_TEST_LOG_DIR;
  else process.env.MP_TEST_LOG_DIR = runDir;
  await rm(dir, { recursive: true, force: true });
});

describe('API test context log capture', () => {
  it('keeps every line logged before close, and drops a line logged after it without throwing', async () => {
    const uncaught: Error[] = [];
    const record = (err: Error) => uncaught.push(err);
    process.on('uncaughtException', record);
    onTestFinished(() => {
      process.off('uncaughtException', record);
    });
    const ctx = await createApiTestContext();
    // A burst: the capture writes one line at a time; every line must be in its file once close() resolves.
    for (let i = 0; i < 500; i++) ctx.deps.logger.info({ i }, 'burst line');
    await ctx.close();
    // A request or queue event settling after the test's teardown: written to an ended file, this threw
    // ERR_STREAM_WRITE_AFTER_END as an uncaught error, which fails the whole run.
    ctx.deps.logger.info('after close');
    await sleep(50);
    expect(uncaught.map((e) => e.message)).toEqual([]);
    const file = path.join(dir, `api-test-${ctx.deps.config.QUEUE_PREFIX}.log`);
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.includes('burst line'));
    expect(lines).toHaveLength(500);
    expect(ctx.logLines.some((l) => l.includes('after close'))).toBe(true);
  });
});
