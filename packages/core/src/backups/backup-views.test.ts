import { describe, expect, it } from 'vitest';
import type { BackupRecord } from '@mp/db';
import { backupFilename } from './backup-filename.js';
import { fromTypeName, toBackupDetail, toBackupView, toTypeName } from './backup-views.js';

const record: BackupRecord = {
  id: '00000000-0000-4000-8000-000000000001',
  filename: 'backup_2026-11-24T12-00-00-000Z.json',
  type: 'pre_restore',
  status: 'completed',
  location: 'both',
  storage: { local: { key: 'k', path: '/p' } },
  fileSize: 12_345n,
  checksum: 'abc',
  compressed: false,
  formatVersion: '1.0',
  schemaVersion: '20261124120750_init',
  options: { includeAuditLogs: false, includeSessions: false },
  recordCounts: { users: 3 },
  progress: null,
  jobId: '00000000-0000-4000-8000-000000000001',
  attempts: 1,
  error: null,
  verification: null,
  verifiedAt: null,
  labels: {},
  pinned: false,
  pinNote: null,
  pinnedAt: null,
  pinnedBy: null,
  encryptionKeyId: null,
  createdBy: 'admin',
  durationMs: 10,
  cloudinaryUrl: 'https://example.test/x',
  cloudinaryAssetId: 'a',
  createdAt: new Date('2026-11-24T12:00:00Z'),
  startedAt: new Date('2026-11-24T12:00:01Z'),
  completedAt: new Date('2026-11-24T12:00:02Z'),
  updatedAt: new Date('2026-11-24T12:00:02Z'),
};

describe('backup request helpers', () => {
  it('names files backup_<ISO time with - for : and .>_<id prefix>.json, distinct within one millisecond', () => {
    const at = new Date('2026-11-24T12:00:00.000Z');
    expect(backupFilename(at, '1f0c9a2b-0000-4000-8000-000000000000')).toBe(
      'backup_2026-11-24T12-00-00-000Z_1f0c9a2b.json',
    );
    expect(backupFilename(at, '2a7e41d3-0000-4000-8000-000000000000')).not.toBe(
      backupFilename(at, '1f0c9a2b-0000-4000-8000-000000000000'),
    );
  });

  it('sums up the last verification for the list: the failed checks named, the rule warnings counted', () => {
    const verification = {
      ok: false,
      trigger: 'read-back',
      checkedAt: '2026-11-24T12:00:03.000Z',
      copies: [
        {
          copy: 'local',
          ok: false,
          checks: [
            { name: 'readable', ok: true },
            { name: 'checksum', ok: false, details: 'sha256 differs' },
          ],
        },
        { copy: 'cloud', ok: true, checks: [{ name: 'checksum', ok: true }] },
      ],
      warnings: [
        { rule: 'AMOUNT_PAID_MISMATCH', count: 2 },
        { rule: 'UNION_WITHOUT_OFFICER', count: 1 },
      ],
    };
    expect(
      toBackupView({ ...record, verification, verifiedAt: new Date('2026-11-24T12:00:03Z') }).verificationSummary,
    ).toEqual({
      ok: false,
      trigger: 'read-back',
      checkedAt: '2026-11-24T12:00:03.000Z',
      failed: ['local copy: checksum: sha256 differs'],
      warnings: 3,
    });
    // Not a report (a hand-edited row, an older shape): no summary rather than a wrong one.
    expect(toBackupView({ ...record, verification: { checked: 'yes' } }).verificationSummary).toBeNull();
  });

  it('maps the pre_restore enum to the API name and back', () => {
    expect(toTypeName('pre_restore')).toBe('pre-restore');
    expect(toTypeName('manual')).toBe('manual');
    expect(fromTypeName('pre-restore')).toBe('pre_restore');
  });

  it('shows a record without storage internals, fileSize as a number', () => {
    const view = toBackupView(record);
    expect(view).toEqual({
      id: record.id,
      filename: record.filename,
      fileSize: 12_345,
      location: 'both',
      cloudinaryUrl: 'https://example.test/x',
      type: 'pre-restore',
      status: 'completed',
      recordCounts: { users: 3 },
      checksum: 'abc',
      createdAt: record.createdAt,
      completedAt: record.completedAt,
      createdBy: 'admin',
      error: null,
      labels: {},
      pinned: false,
      pinNote: null,
      pinnedAt: null,
      pinnedBy: null,
      encryptionKeyId: null,
      verificationSummary: null,
    });
    expect(JSON.stringify(toBackupDetail(record))).not.toContain('/p');
    expect(toBackupView({ ...record, fileSize: null }).fileSize).toBeNull();
  });
});
