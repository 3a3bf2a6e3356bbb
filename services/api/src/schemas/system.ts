import { z } from 'zod';
import type { DependencyReport } from '@mp/core';
import { viewOf } from './envelope.js';

/** Answers of the system, dependency and health routes. */

export const maintenanceSchema = z.object({
  maintenance: z.object({
    active: z.boolean(),
    reason: z.string().nullable().meta({ description: 'restore, reset, undo, …' }),
    since: z.date().nullable(),
    jobId: z.string().nullable().meta({ description: 'The job holding maintenance mode' }),
  }),
});

export const queueSessionSchema = z.object({ url: z.string(), expiresAt: z.string() });

export const dependencyReportSchema = viewOf<DependencyReport>()({
  entityType: z.enum(['user', 'union', 'unionMember', 'loanType']),
  entityId: z.string(),
  canDelete: z.boolean().meta({ description: 'False when deleting would be refused because other rows reference it' }),
  dependencies: z.record(z.string(), z.number()).meta({ description: 'Count per dependent kind, zeros included' }),
  message: z.string(),
});

export const DEPENDENCY_EXAMPLE = {
  entityType: 'union',
  entityId: '4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c',
  canDelete: false,
  dependencies: { unionMembers: 12, loans: 9, activeLoans: 5, repayments: 40 },
  message: 'Cannot delete: 5 active loans and 12 members depend on this union',
};

export const readyAnswer = z.object({ status: z.literal('ready'), database: z.boolean(), redis: z.boolean() });

/** /healthz/backups answers without the envelope (a monitor reads the status code). */
export const backupsHealthyAnswer = (status: 'ok' | 'unhealthy') =>
  z.object({ status: z.literal(status) }).meta({
    description:
      status === 'ok' ? 'Every backup health check passes' : 'A check fails (details: GET /api/backup/health)',
    examples: [{ status }],
  });
