import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUserAndLogin, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';

// Every body POST /api/backup/restore cannot use answers a 4xx with the error envelope, never a 500,
// and nothing is written or queued.
const metadata = { version: '1.0', timestamp: '2026-11-24T12:00:00.000Z', app: 'millennium-potters' };
const nested = (depth: number) =>
  `{"backupData":{"metadata":${JSON.stringify(metadata)},"data":{"users":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;

describe('restore request bodies the API cannot use', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const send = (payload: string | Buffer, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: '/api/backup/restore',
      headers: { ...headers, 'content-type': contentType },
      payload,
    });
  /** The answer is a 4xx envelope `{ success: false, error: { code, message } }` with a message a person can read. */
  const refused = (res: Awaited<ReturnType<typeof send>>) => {
    const body = res.json() as { success: boolean; error: { code: string; message: string } };
    expect(body.success).toBe(false);
    expect(body.error.message.length).toBeGreaterThan(10);
    return [res.statusCode, body.error.code];
  };

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp({ env: { RESTORE_BODY_LIMIT_MB: '2', RESTORE_UPLOAD_LIMIT_MB: '2' } }));
  });
  afterAll(() => stopApiApp(ctx, app));
  beforeEach(async () => {
    await resetDatabase(ctx.db.pool);
    await rm(ctx.uploadDir, { recursive: true, force: true });
    ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
  });
  const nothingWritten = async () => {
    expect(await ctx.deps.prisma.operation.count()).toBe(0);
    expect(await readdir(ctx.uploadDir).catch(() => [] as string[])).toEqual([]);
  };

  it('a body nested 100,000 levels deep: 400 naming the limit, not a stack overflow', async () => {
    const res = await send(nested(100_000));
    expect(refused(res)).toEqual([400, 'VALIDATION_ERROR']);
    expect(res.json().error.message).toMatch(/nest/i);
    // Deep, but within what the parser accepts: the worker judges the rows.
    expect((await send(nested(100))).statusCode).toBe(202);
    await ctx.deps.prisma.operation.deleteMany();
    await rm(ctx.uploadDir, { recursive: true, force: true });
    await nothingWritten();
  });

  it('nesting inside strings does not count', async () => {
    const res = await send(
      `{"backupData":{"metadata":${JSON.stringify(metadata)},"data":{"users":[{"notes":"${'['.repeat(100_000)}"}]}}}`,
    );
    expect(res.statusCode).toBe(202);
  });

  it('malformed JSON, an empty body, truncated JSON: 400 VALIDATION_ERROR', async () => {
    for (const payload of ['{"backupData":', '{', 'nope', '{"backupData":{}}}', '']) {
      expect([payload, ...refused(await send(payload))]).toEqual([payload, 400, 'VALIDATION_ERROR']);
    }
    await nothingWritten();
  });

  it('a JSON array, string, number or null at the top: 400 VALIDATION_ERROR', async () => {
    for (const payload of ['[]', '[{"backupData":{}}]', '"backupData"', '42', 'null', 'true']) {
      expect([payload, ...refused(await send(payload))]).toEqual([payload, 400, 'VALIDATION_ERROR']);
    }
    await nothingWritten();
  });

  it('__proto__ and constructor keys: 400, never merged into anything', async () => {
    const bodies = [
      '{"__proto__":{"skipSafetyBackup":true},"backupId":"00000000-0000-4000-8000-000000000000"}',
      `{"backupData":{"metadata":${JSON.stringify(metadata)},"data":{"users":[{"__proto__":{"role":"ADMIN"}}]}}}`,
      '{"constructor":{"prototype":{"admin":true}}}',
    ];
    for (const payload of bodies) {
      expect([payload.slice(0, 30), ...refused(await send(payload))]).toEqual([
        payload.slice(0, 30),
        400,
        'VALIDATION_ERROR',
      ]);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    await nothingWritten();
  });

  it('a content type other than JSON or multipart: 4xx naming what to send', async () => {
    for (const type of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
    ]) {
      const res = await send('{"backupId":"x"}', type);
      const [status, code] = refused(res);
      expect([type, status, code]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(res.json().error.message).toMatch(/application\/json.*multipart\/form-data/);
      expect(res.json().error.message).toContain(`Content type "${type}" is not accepted`);
    }
    await nothingWritten();
  });

  it('broken multipart bodies: 4xx, no file left', async () => {
    const boundary = `----mp${randomUUID()}`;
    const cases: Array<[string, string | Buffer]> = [
      ['multipart/form-data', 'anything'],
      [`multipart/form-data; boundary=${boundary}`, 'no boundary in here'],
      [
        `multipart/form-data; boundary=${boundary}`,
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.json"\r\n\r\n{"metadata":`,
      ],
      [
        `multipart/form-data; boundary=${boundary}`,
        `--${boundary}\r\nbroken header line\r\n\r\n{}\r\n--${boundary}--\r\n`,
      ],
    ];
    for (const [type, payload] of cases) {
      const res = await send(payload, type);
      expect(res.statusCode, `${type} ${String(payload).slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      refused(res);
    }
    await nothingWritten();
  });

  it('a body over the limit: 413 PAYLOAD_TOO_LARGE, also when it arrives without a length', async () => {
    const big =
      `{"backupData":{"metadata":${JSON.stringify(metadata)},"data":{"users":[{"notes":"` +
      `${'x'.repeat(3 * 1024 * 1024)}"}]}}}`;
    expect(refused(await send(big))).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    await nothingWritten();
  });

  it("huge strings and many keys within the limit are the worker's to judge, not a 500", async () => {
    const longKey = `{"backupData":{"metadata":${JSON.stringify(metadata)},"data":{"${'k'.repeat(1024 * 1024)}":[]}}}`;
    expect((await send(longKey)).statusCode).toBe(202);
  });
});
