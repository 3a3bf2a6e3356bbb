import { describe, expect, it } from 'vitest';
import { alertSummary, conditionKey, parseConditionKey, type AlertCondition } from './alert-state.js';
import { createAlertEvent } from './webhook.js';

describe('alert condition keys', () => {
  it('round-trip through the key, which BullMQ accepts as a job id (no colon)', () => {
    const conditions: AlertCondition[] = [
      { type: 'health.unhealthy', subject: { kind: 'health', id: 'backup_age' }, code: 'backup_age' },
      {
        type: 'backup.failed',
        subject: { kind: 'backup', id: '0b8f2c3e-1d4a-4e5b-9c6d-7e8f9a0b1c2d' },
        code: 'backup.scheduled',
      },
      { type: 'prune.failed', subject: { kind: 'operation', id: 'repeat:backup-prune-daily:1' } },
    ];
    for (const condition of conditions) {
      const key = conditionKey(condition);
      expect(key).not.toContain(':');
      const parsed = parseConditionKey(key);
      // A colon in an id is written as `_` (the key is an identity, not a transport of the id).
      expect(parsed).toEqual({
        ...condition,
        subject: { ...condition.subject, id: condition.subject.id.replaceAll(':', '_') },
      });
    }
  });

  it('refuses keys it did not write', () => {
    for (const key of [
      '',
      'alert',
      'alert/health.recovered/health/drill/drill',
      'alert/nope/health/drill/',
      'other/backup.failed/backup/x/',
      'alert/backup.failed/person/x/',
      'alert/backup.failed/backup/x/y/z',
    ]) {
      expect(parseConditionKey(key)).toBeNull();
    }
  });
});

describe('alertSummary', () => {
  it('writes every event type from ids and codes only, and each passes the event schema', () => {
    const subject = { kind: 'backup', id: 'b1' } as const;
    const types = [
      'backup.failed',
      'prune.failed',
      'readback.failed',
      'drill.failed',
      'health.unhealthy',
      'health.recovered',
    ] as const;
    const summaries = types.map((type) =>
      alertSummary(type, subject, type.startsWith('health') ? 'read_back' : undefined),
    );
    expect(summaries).toEqual([
      'Backup b1 failed for good',
      'Retention prune b1 failed for good',
      'Read-back of backup b1 failed: a stored copy does not match what was written',
      'Restore drill b1 failed',
      'Backup health check read_back fails: the read-back of the newest backup failed',
      'Backup health check read_back passes again: the newest backup reads back',
    ]);
    for (const [i, type] of types.entries())
      expect(() => createAlertEvent({ type, subject, summary: summaries[i]! })).not.toThrow();
  });
});
