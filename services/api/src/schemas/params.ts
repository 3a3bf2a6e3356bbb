import { z } from 'zod';

const BACKUP_ID = '1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c';
const OPERATION_ID = '7d9f0c1e-4b8a-4c52-9a41-2f1e6b3c8d90';

/** `:id` of a backup record. */
export const backupIdParams = z
  .object({ id: z.uuid().meta({ description: 'Backup record id', example: BACKUP_ID }) })
  .strict();

/** `:operationId` of a restore (the `operationId` its 202 answered). */
export const operationIdParams = z
  .object({
    operationId: z.uuid().meta({ description: 'The restore operation id (its 202 answer)', example: OPERATION_ID }),
  })
  .strict();

/**
 * `:jobId` of any backup job. Not a UUID on purpose: besides record and operation ids (UUIDs) it takes BullMQ's
 * scheduler ids (`repeat:<scheduler>:<ms>`). Anything else (a NUL byte once made PostgreSQL fail with a 500) is a
 * 400 before any lookup.
 */
export const jobIdParams = z
  .object({
    jobId: z
      .string()
      .regex(/^[A-Za-z0-9:._-]{1,200}$/, 'not a job id')
      .meta({ description: 'The `jobId` a 202 answered (a UUID), or a scheduler job id', example: OPERATION_ID }),
  })
  .strict();

/**
 * `:entityType/:entityId`; both checked by core, so an unknown type answers UNSUPPORTED_ENTITY_TYPE with the supported
 * list.
 */
export const entityParams = z
  .object({
    entityType: z
      .string()
      .min(1)
      .max(64)
      .meta({ description: 'user, union, unionMember or loanType', example: 'union' }),
    entityId: z
      .string()
      .max(64)
      .meta({ description: 'The entity id (a UUID)', example: '4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c' }),
  })
  .strict();

export const EXAMPLE_IDS = { backup: BACKUP_ID, operation: OPERATION_ID } as const;
