import { describe, expect, it } from 'vitest';
import type { JobStatus } from '@mp/core';
import { toJobStatusView } from './job-status-view.js';

const base: Omit<JobStatus, 'kind' | 'result'> = {
  jobId: '00000000-0000-4000-8000-000000000001',
  state: 'completed',
  progress: { percent: 100, stage: 'done', table: null, rows: null, counts: null },
  error: null,
  problems: null,
  attempts: 1,
  createdAt: new Date('2026-12-01T12:00:00.000Z'),
  startedAt: null,
  completedAt: null,
};

describe('toJobStatusView', () => {
  it("adds a finished backup's downloadUrl last, as the answer always had it", () => {
    const result = {
      backupId: 'b1',
      filename: 'f.json',
      fileSize: 3,
      checksum: null,
      recordCounts: { users: 1 },
      location: 'local',
    };
    const view = toJobStatusView({ ...base, kind: 'backup.create', result });
    expect(JSON.stringify(view)).toBe(
      JSON.stringify({ ...base, kind: 'backup.create', result: { ...result, downloadUrl: '/api/backup/download/b1' } }),
    );
    // Key order of the whole answer is kept: `result` stays where the status had it.
    expect(Object.keys(view)).toEqual(Object.keys({ ...base, kind: 'backup.create', result }));
  });

  it("tells how to claim a reset's pending password, and nothing once it was claimed", () => {
    const pending = toJobStatusView({
      ...base,
      kind: 'backup.reset',
      result: { superAdmin: { username: 'SuperAdmin' }, generatedPasswordPending: true },
    });
    expect(pending.result).toEqual({
      superAdmin: { username: 'SuperAdmin' },
      generatedPasswordPending: true,
      claimWith: 'POST /api/auth/reset-claim { jobId, claimToken }',
    });
    const claimed = { superAdmin: { username: 'SuperAdmin' }, generatedPasswordShown: true };
    expect(toJobStatusView({ ...base, kind: 'backup.reset', result: claimed }).result).toBe(claimed);
  });

  it('passes other results, and a backup still running, through untouched', () => {
    const verify = { ok: true };
    expect(toJobStatusView({ ...base, kind: 'backup.verify', result: verify }).result).toBe(verify);
    expect(toJobStatusView({ ...base, state: 'running', kind: 'backup.create', result: null }).result).toBeNull();
  });
});
