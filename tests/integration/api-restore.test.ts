import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUserAndLogin, resetDatabase, type ApiTestContext } from '@mp/testing';
import { startApiApp, stopApiApp } from './api-harness.js';

const doc = (version = '1.0') => ({
  metadata: { version, timestamp: '2026-11-24T12:00:00.000Z', app: 'millennium-potters', recordCounts: { users: 0 } },
  data: { users: [], unions: [], unionMembers: [], loanTypes: [], loans: [], repayments: [] },
});

/** A multipart/form-data body with optional text fields followed by one file part. */
function multipart(file: Buffer, fields: Record<string, string> = {}, fieldName = 'file') {
  const boundary = `----mp${randomUUID()}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${fieldName}"; filename="b.json"\r\nContent-Type: ` +
        `application/octet-stream\r\n\r\n`,
    ),
  );
  parts.push(file, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('restore requests', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const restore = (payload: object) => app.inject({ method: 'POST', url: '/api/backup/restore', headers, payload });
  const upload = (file: Buffer, fields?: Record<string, string>, fieldName?: string) => {
    const body = multipart(file, fields, fieldName);
    return app.inject({
      method: 'POST',
      url: '/api/backup/restore',
      headers: { ...headers, 'content-type': body.contentType },
      payload: body.payload,
    });
  };
  const uploads = async () => (await readdir(ctx.uploadDir).catch(() => [] as string[])).sort();

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp({ env: { RESTORE_BODY_LIMIT_MB: '1', RESTORE_UPLOAD_LIMIT_MB: '1' } }));
  });
  afterAll(() => stopApiApp(ctx, app));
  beforeEach(async () => {
    await resetDatabase(ctx.db.pool);
    await rm(ctx.uploadDir, { recursive: true, force: true });
    await ctx.deps.producer.queue('maintenance').obliterate({ force: true });
    ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
  });

  it(
    'accepts { backupData }: written for the worker, operation queued, job enqueued with only { operationId ' + '}',
    async () => {
      const res = await restore({ backupData: doc(), skipSafetyBackup: true });
      expect(res.statusCode).toBe(202);
      const { operationId, jobId, statusUrl } = res.json().data;
      expect([jobId, statusUrl]).toEqual([operationId, `/api/backup/jobs/${operationId}`]);
      const op = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: operationId } });
      expect(op).toMatchObject({ kind: 'restore', status: 'queued', jobId: operationId });
      const input = op.input as {
        source: { kind: string; path: string; compressed: boolean };
        skipSafetyBackup: boolean;
      };
      expect(input).toMatchObject({ skipSafetyBackup: true, source: { kind: 'file', compressed: false } });
      expect(input.source.path.endsWith(`${operationId}.json`)).toBe(true);
      expect(JSON.parse(await readFile(input.source.path, 'utf8'))).toEqual(doc());
      const job = await ctx.deps.producer.queue('maintenance').getJob(operationId);
      expect([job?.name, job?.data]).toEqual(['backup.restore', { operationId }]);
    },
  );

  it('refuses a bad document with 422 and writes nothing', async () => {
    const newer = await restore({ backupData: doc('2.0') });
    expect([newer.statusCode, newer.json().error.code]).toEqual([422, 'UNSUPPORTED_BACKUP_VERSION']);
    const weird = await restore({ backupData: doc('latest') });
    expect([weird.statusCode, weird.json().error.code]).toEqual([422, 'UNSUPPORTED_BACKUP_VERSION']);
    for (const backupData of [{ metadata: { version: '1.0' } }, { data: {} }, { metadata: {}, data: {} }, [], 'x']) {
      const res = await restore({ backupData });
      expect([res.statusCode, res.json().error.code]).toEqual([422, 'INVALID_BACKUP_FILE']);
    }
    expect(await ctx.deps.prisma.operation.count()).toBe(0);
    expect(await uploads()).toEqual([]);
  });

  it('validates the JSON shape: exactly one of backupId / backupData, no unknown fields', async () => {
    for (const payload of [
      {},
      { backupId: randomUUID(), backupData: doc() },
      { backupId: 'nope' },
      { backupId: randomUUID(), force: true },
    ]) {
      const res = await restore(payload);
      expect([JSON.stringify(payload).slice(0, 40), res.statusCode, res.json().error.code]).toEqual([
        JSON.stringify(payload).slice(0, 40),
        400,
        'VALIDATION_ERROR',
      ]);
    }
  });

  it('by backupId: 404 unknown, 409 not ready, 202 for a completed backup', async () => {
    const unknown = await restore({ backupId: randomUUID() });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'BACKUP_NOT_FOUND']);
    const queued = await ctx.deps.prisma.backupRecord.create({
      data: { filename: 'q.json', type: 'manual', location: 'local' },
    });
    const notReady = await restore({ backupId: queued.id });
    expect([notReady.statusCode, notReady.json().error.code]).toEqual([409, 'BACKUP_NOT_READY']);
    const done = await ctx.deps.prisma.backupRecord.update({ where: { id: queued.id }, data: { status: 'completed' } });
    const ok = await restore({ backupId: done.id });
    expect(ok.statusCode).toBe(202);
    const op = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: ok.json().data.operationId } });
    expect(op.backupId).toBe(done.id);
    expect(op.input).toEqual({
      source: { kind: 'backup', backupId: done.id },
      skipSafetyBackup: false,
      allowNoAdmin: false,
    });
  });

  it(
    'selective: stores the tables asked for (file order) and withDependencies; refuses unknown keys with the valid ' +
      'ones, writing nothing',
    async () => {
      const done = await ctx.deps.prisma.backupRecord.create({
        data: { filename: 's.json', type: 'manual', location: 'local', status: 'completed' },
      });
      const ok = await restore({ backupId: done.id, tables: ['loanTypes', 'unions'], withDependencies: true });
      expect(ok.statusCode).toBe(202);
      const op = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: ok.json().data.operationId } });
      expect(op.input).toEqual({
        source: { kind: 'backup', backupId: done.id },
        skipSafetyBackup: false,
        allowNoAdmin: false,
        tables: ['unions', 'loanTypes'],
        withDependencies: true,
      });
      await ctx.deps.prisma.operation.updateMany({ data: { status: 'completed' } });

      const unknown = await restore({ backupId: done.id, tables: ['loanTypes', 'payments'] });
      expect([unknown.statusCode, unknown.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      expect(unknown.json().error.message).toBe(
        'Unknown table(s) "payments"; valid tables: users, unions, unionMembers, loanTypes, loans, repayments, ' +
          'auditLogs, sessions',
      );
      const noTables = await restore({ backupId: done.id, withDependencies: true });
      expect([noTables.statusCode, noTables.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      const uploadUnknown = await upload(Buffer.from(JSON.stringify(doc())), { tables: 'loanTypes,payments' });
      expect([uploadUnknown.statusCode, uploadUnknown.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      expect(await uploads()).toEqual([]);

      const form = await upload(Buffer.from(JSON.stringify(doc())), {
        tables: 'loanTypes, unions',
        withDependencies: 'true',
      });
      expect(form.statusCode).toBe(202);
      const formOp = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: form.json().data.operationId } });
      expect(formOp.input).toMatchObject({ tables: ['unions', 'loanTypes'], withDependencies: true });
      expect(await ctx.deps.prisma.operation.count({ where: { status: 'queued' } })).toBe(1);
    },
  );

  it(
    'preview: queued as a backup.preview job on the backup queue; an entity preview is queued with its entity; an ' +
      'unknown entity type is refused',
    async () => {
      const preview = (payload: object) =>
        app.inject({ method: 'POST', url: '/api/backup/restore/preview', headers, payload });
      const done = await ctx.deps.prisma.backupRecord.create({
        data: { filename: 'p.json', type: 'manual', location: 'local', status: 'completed' },
      });
      const res = await preview({ backupId: done.id, tables: ['loans'] });
      expect(res.statusCode).toBe(202);
      const { operationId, statusUrl } = res.json().data;
      expect(statusUrl).toBe(`/api/backup/jobs/${operationId}`);
      const op = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: operationId } });
      expect(op).toMatchObject({
        kind: 'preview',
        status: 'queued',
        backupId: done.id,
        input: { source: { kind: 'backup', backupId: done.id }, tables: ['loans'], withDependencies: false },
      });
      const job = await ctx.deps.producer.queue('backup').getJob(operationId);
      expect([job?.name, job?.data]).toEqual(['backup.preview', { operationId }]);
      // A preview does not count as a running restore.
      expect((await restore({ backupId: done.id })).statusCode).toBe(202);

      const unionId = randomUUID();
      const entity = await preview({ backupId: done.id, entityType: 'union', entityId: unionId });
      expect(entity.statusCode).toBe(202);
      const entityOp = await ctx.deps.prisma.operation.findUniqueOrThrow({
        where: { id: entity.json().data.operationId },
      });
      expect(entityOp).toMatchObject({
        kind: 'preview',
        input: { source: { kind: 'backup', backupId: done.id }, entity: { entityType: 'union', entityId: unionId } },
      });
      const badType = await preview({ backupData: doc(), entityType: 'repayment', entityId: randomUUID() });
      expect([badType.statusCode, badType.json().error.code]).toEqual([400, 'UNSUPPORTED_ENTITY_TYPE']);
      const unknown = await preview({ backupId: done.id, tables: ['nope'] });
      expect([unknown.statusCode, unknown.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      const entityOnRestore = await restore({ backupId: done.id, entityType: 'union', entityId: randomUUID() });
      expect([entityOnRestore.statusCode, entityOnRestore.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      expect(await uploads()).toEqual([]);
      expect(await ctx.deps.prisma.operation.count({ where: { kind: 'preview' } })).toBe(2);
    },
  );

  it('accepts uploaded .json.gz and .json files, detected by their first bytes', async () => {
    const gz = gzipSync(Buffer.from(JSON.stringify(doc())));
    const res = await upload(gz, { skipSafetyBackup: 'true' });
    expect(res.statusCode).toBe(202);
    const op = await ctx.deps.prisma.operation.findUniqueOrThrow({ where: { id: res.json().data.operationId } });
    const input = op.input as { source: { path: string; compressed: boolean }; skipSafetyBackup: boolean };
    expect(input.skipSafetyBackup).toBe(true);
    expect(input.source.compressed).toBe(true);
    expect(input.source.path.endsWith(`${op.id}.json.gz`)).toBe(true);
    expect(Buffer.compare(await readFile(input.source.path), gz)).toBe(0);

    await ctx.deps.prisma.operation.updateMany({ data: { status: 'completed' } });
    const plain = await upload(Buffer.from(`\uFEFF  ${JSON.stringify(doc())}`));
    expect(plain.statusCode).toBe(202);
    expect(await uploads()).toEqual([`${op.id}.json.gz`, `${plain.json().data.operationId}.json`].sort());
  });

  it(
    'refuses uploads that are not JSON or gzip, too large, or in the wrong field, leaving no file ' + 'behind',
    async () => {
      const text = await upload(Buffer.from('hello, not json'));
      expect([text.statusCode, text.json().error.code]).toEqual([422, 'INVALID_BACKUP_FILE']);
      const empty = await upload(Buffer.alloc(0));
      expect([empty.statusCode, empty.json().error.code]).toEqual([422, 'INVALID_BACKUP_FILE']);
      expect(empty.json().error.message).toBe('The uploaded file is empty (0 bytes)');
      const big = await upload(Buffer.concat([Buffer.from('{"x":"'), Buffer.alloc(1024 * 1024 + 10, 0x61)]));
      expect([big.statusCode, big.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const field = await upload(Buffer.from('{}'), {}, 'backup');
      expect([field.statusCode, field.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      const bigJson = await restore({ backupData: { ...doc(), pad: 'x'.repeat(1024 * 1024) } });
      expect([bigJson.statusCode, bigJson.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect(await uploads()).toEqual([]);
      expect(await ctx.deps.prisma.operation.count()).toBe(0);
    },
  );

  it(
    'one at a time: a second restore gets 409 and its upload is removed; concurrent requests admit exactly ' + 'one',
    async () => {
      expect((await restore({ backupData: doc() })).statusCode).toBe(202);
      const second = await upload(Buffer.from(JSON.stringify(doc())));
      expect([second.statusCode, second.json().error.code]).toEqual([409, 'OPERATION_IN_PROGRESS']);
      expect(await uploads()).toHaveLength(1);

      await resetDatabase(ctx.db.pool);
      ({ headers } = await createUserAndLogin(app, ctx.deps.prisma, 'ADMIN'));
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          i % 2
            ? restore({ backupData: doc() })
            : app.inject({
                method: 'POST',
                url: '/api/backup/reset',
                headers,
                payload: { confirmationToken: 'DELETE' },
              }),
        ),
      );
      expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 409, 409, 409, 409, 409]);
      expect(await ctx.deps.prisma.operation.count()).toBe(1);
    },
  );
});
