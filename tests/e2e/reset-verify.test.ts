import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableHashes, waitFor, type E2eEnvironment, type ServiceProcess, type TestDatabase } from '@mp/testing';
import { client, login, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

let stack: E2eStack;
let db: TestDatabase;
let env: E2eEnvironment;
let api: ServiceProcess;
let token: string;

beforeAll(async () => {
  stack = await startE2eStack({ scale: 1, seed: 4 });
  ({ db, env, api } = stack);
  token = await stack.login();
}, 90_000);

afterAll(() => stack?.stop());

describe('verify', () => {
  it('reports a good backup as good and a damaged one with its problems', async () => {
    const created = await client(api, token).json<{ jobId: string; backupId: string }>(
      'POST',
      '/api/backup/create',
      {},
    );
    await waitForJob(api, token, created.body.data.jobId);
    const id = created.body.data.backupId;

    const first = await client(api, token).json<{ jobId: string }>('POST', `/api/backup/${id}/verify`);
    expect(first.status).toBe(202);
    const good = await waitForJob(api, token, first.body.data.jobId);
    expect(good).toMatchObject({
      state: 'completed',
      result: { ok: true, trigger: 'verify', references: 'checked', problems: [] },
    });

    const record = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    const file = path.join(env.backupDir, record.filename);
    await writeFile(file, (await readFile(file, 'utf8')).replace('"loans":[', '"loans":[{"id":"x"},'));
    const second = await client(api, token).json<{ jobId: string }>('POST', `/api/backup/${id}/verify`);
    const bad = await waitForJob(api, token, second.body.data.jobId);
    expect(bad.state).toBe('completed');
    expect(bad.result).toMatchObject({
      ok: false,
      copies: [
        {
          copy: 'local',
          ok: false,
          checks: expect.arrayContaining([{ name: 'checksum', ok: false, details: expect.any(String) }]),
        },
      ],
    });
    expect(JSON.stringify(bad.result)).toMatch(/loans: metadata says \d+ rows, the file has \d+/);
    const after = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id } });
    expect(after.verification).toMatchObject({ ok: false });
  });

  it('answers 404 for an unknown backup', async () => {
    const res = await client(api, token).json('POST', '/api/backup/00000000-0000-4000-8000-000000000000/verify');
    expect(res.status).toBe(404);
  });
});

describe('emergency reset', () => {
  it('refuses anything but DELETE and enqueues nothing', async () => {
    const res = await client(api, token).json('POST', '/api/backup/reset', { confirmationToken: 'delete' });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('INVALID_CONFIRMATION_TOKEN');
    expect(await db.prisma.operation.count({ where: { kind: 'reset' } })).toBe(0);
  });

  it(
    'takes a safety backup, wipes the data and creates SuperAdmin whose password the requester claims ' + 'once',
    async () => {
      const before = await tableHashes(db.pool, ['loans']);
      expect(before.loans!.rows).toBeGreaterThan(0);
      const res = await client(api, token).json<{ jobId: string; claimToken: string }>('POST', '/api/backup/reset', {
        confirmationToken: 'DELETE',
      });
      expect(res.status).toBe(202);
      const { jobId, claimToken } = res.body.data;
      expect(claimToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      // Only the token's hash is stored.
      expect(
        JSON.stringify((await db.prisma.operation.findUniqueOrThrow({ where: { id: jobId } })).input),
      ).not.toContain(claimToken);
      // Every account is gone afterwards, the requester's too, so poll the row rather than the API.
      await waitFor(async () => {
        const row = await db.prisma.operation.findUniqueOrThrow({ where: { id: jobId } });
        return row.status === 'completed' || row.status === 'failed';
      }, 60_000);
      const op = await db.prisma.operation.findUniqueOrThrow({ where: { id: jobId } });
      expect(op.status).toBe('completed');
      const result = op.result as { safetyBackupId: string; superAdmin: { username: string } };
      expect(result.superAdmin.username).toBe('SuperAdmin');

      // The requester claims the password with the token, once; a wrong token gets nothing.
      const wrong = await client(api).json('POST', '/api/auth/reset-claim', {
        jobId,
        claimToken: `${claimToken.slice(0, -2)}xx`,
      });
      expect([wrong.status, wrong.body.error?.code]).toEqual([401, 'INVALID_CREDENTIALS']);
      const claimed = await client(api).json<{ username: string; password: string }>('POST', '/api/auth/reset-claim', {
        jobId,
        claimToken,
      });
      expect(claimed.status).toBe(200);
      expect(claimed.body.data.username).toBe('SuperAdmin');
      const again = await client(api).json('POST', '/api/auth/reset-claim', { jobId, claimToken });
      expect(again.status).toBe(404);
      expect(
        JSON.stringify((await db.prisma.operation.findUniqueOrThrow({ where: { id: jobId } })).result),
      ).not.toContain(claimed.body.data.password);

      const superToken = await login(api, { username: 'SuperAdmin', password: claimed.body.data.password });
      // The generated password must be changed before anything else.
      expect((await db.prisma.user.findUniqueOrThrow({ where: { username: 'SuperAdmin' } })).mustChangePassword).toBe(
        true,
      );
      expect((await client(api, superToken).json('GET', `/api/backup/jobs/${jobId}`)).status).toBe(403);
      const changed = await client(api, superToken).json('POST', '/api/auth/change-password', {
        currentPassword: claimed.body.data.password,
        newPassword: 'Super-Admin-New-2026-pw',
      });
      expect(changed.status).toBe(200);
      const status = await client(api, superToken).json<{ result: Record<string, unknown> }>(
        'GET',
        `/api/backup/jobs/${jobId}`,
      );
      expect(status.status).toBe(200);
      expect(status.body.data.result.generatedPassword).toBeUndefined();

      const users = await db.prisma.user.findMany();
      expect(users).toHaveLength(1);
      // Created flagged to change its password, which it has done above.
      expect(users[0]).toMatchObject({ username: 'SuperAdmin', role: 'ADMIN', mustChangePassword: false });
      expect((await tableHashes(db.pool, ['loans'])).loans!.rows).toBe(0);
      const safety = await db.prisma.backupRecord.findUniqueOrThrow({ where: { id: result.safetyBackupId } });
      expect(safety).toMatchObject({ type: 'pre_restore', status: 'completed' });
      expect((safety.recordCounts as Record<string, number>).loans).toBe(before.loans!.rows);
      // Tokens issued before the reset are dead.
      expect((await client(api, token).json('GET', '/api/backup/list')).status).toBe(401);
    },
  );
});

describe('shutdown', () => {
  it('both services stop cleanly on SIGTERM', async () => {
    expect(await stack.worker.kill('SIGTERM')).toBe(0);
    expect(await api.kill('SIGTERM')).toBe(0);
    expect(stack.worker.output()).toContain('shutting down: finishing active jobs');
  });
});
