import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableHashes, type ServiceProcess, type TestDatabase } from '@mp/testing';
import { client, startE2eStack, waitForJob, type E2eStack } from './helpers.js';

// The API and a worker that must encrypt (BACKUP_ENCRYPTION_REQUIRED), as real processes: what an operator sees.
let stack: E2eStack;
let db: TestDatabase;
let api: ServiceProcess;
let token: string;
const CORE = ['unions', 'union_members', 'loan_types', 'loans', 'repayments'];

beforeAll(async () => {
  stack = await startE2eStack({
    scale: 1,
    seed: 5,
    env: {
      BACKUP_ENCRYPTION_KEY: `ops-2026:${randomBytes(32).toString('base64')}`,
      BACKUP_ENCRYPTION_REQUIRED: 'true',
    },
  });
  ({ db, api } = stack);
  token = await stack.login();
}, 90_000);

afterAll(() => stack?.stop());

describe('an encrypted backup, end to end', () => {
  it(
    'is created with labels, listed with its key id, downloaded encrypted, and restored from that ' + 'download',
    async () => {
      const created = await client(api, token).json<{ backupId: string; jobId: string }>('POST', '/api/backup/create', {
        includeAuditLogs: true,
        labels: { reason: 'pre-migration' },
      });
      expect(created.status).toBe(202);
      expect(await waitForJob(api, token, created.body.data.jobId)).toMatchObject({ state: 'completed' });
      const before = await tableHashes(db.pool, CORE);

      const listed = await client(api, token).json<{ items: Record<string, unknown>[] }>(
        'GET',
        '/api/backup/list?label=reason:pre-migration',
      );
      expect(listed.body.data.items).toEqual([
        expect.objectContaining({
          id: created.body.data.backupId,
          encryptionKeyId: 'ops-2026',
          labels: { reason: 'pre-migration' },
        }),
      ]);

      const res = await client(api, token).raw(`/api/backup/download/${created.body.data.backupId}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      const file = Buffer.from(await res.arrayBuffer());
      expect(file.subarray(0, 4).toString('latin1')).toBe('MPBE');
      expect(res.headers.get('x-backup-checksum')).toBe(`sha256=${createHash('sha256').update(file).digest('hex')}`);

      const verify = await client(api, token).json<{ jobId: string }>(
        'POST',
        `/api/backup/${created.body.data.backupId}/verify`,
      );
      expect(await waitForJob(api, token, verify.body.data.jobId)).toMatchObject({
        state: 'completed',
        result: { ok: true },
      });

      await db.pool.query(`UPDATE loans SET notes = 'changed after the backup'`);
      const form = new FormData();
      form.append('skipSafetyBackup', 'true');
      form.append('file', new Blob([file]), 'backup.json.enc');
      const upload = await client(api, token).raw('/api/backup/restore', { method: 'POST', body: form });
      expect(upload.status).toBe(202);
      const { data } = (await upload.json()) as { data: { jobId: string } };
      expect(await waitForJob(api, token, data.jobId, { relogin: stack.login })).toMatchObject({ state: 'completed' });
      expect(await tableHashes(db.pool, CORE)).toEqual(before);
    },
  );
});
