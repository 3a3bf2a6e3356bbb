import { z } from 'zod';
import { UnrecoverableError } from '@mp/jobs';
import { restoreSourceSchema, type RestoreSource } from './source.js';
import { tableSelectionInputSchema } from './selection.js';

/** A restore's stored `Operation.input` (written by `requestRestore`; rows older than a flag lack it: false). */
export const restoreInputSchema = tableSelectionInputSchema.extend({
  source: restoreSourceSchema,
  skipSafetyBackup: z.boolean().default(false),
  /** Restore even when no active ADMIN with a usable password would be left (see `findAdminLockout`). */
  allowNoAdmin: z.boolean().default(false),
});
export type RestoreInput = z.output<typeof restoreInputSchema>;

/**
 * Reads a restore's stored input for the run.
 * @throws UnrecoverableError when it names no usable source (a retry cannot help)
 */
export function readRestoreInput(input: unknown): RestoreInput {
  const parsed = restoreInputSchema.safeParse(input);
  if (!parsed.success) throw new UnrecoverableError('The restore operation names no usable source');
  return parsed.data;
}

/**
 * What housekeeping asks of a finished restore's input, read leniently (a flag of the wrong type reads as
 * absent): did it skip the safety backup, and was it selective (`tables` given).
 */
const restoreFlagsSchema = z
  .object({
    skipSafetyBackup: z.boolean().default(false).catch(false),
    tables: z.array(z.unknown()).optional().catch(undefined),
  })
  .catch({ skipSafetyBackup: false });

export function readRestoreFlags(input: unknown): { skipSafetyBackup: boolean; selective: boolean } {
  const flags = restoreFlagsSchema.parse(input);
  return { skipSafetyBackup: flags.skipSafetyBackup, selective: flags.tables !== undefined };
}

/** The tables a selective restore asked for (null for a whole restore), read leniently for lists. */
export function restoreFlagsOf(input: unknown): { tables: string[] | null } {
  const parsed = z.object({ tables: z.array(z.string()) }).safeParse(input);
  return { tables: parsed.success ? parsed.data.tables : null };
}

/** The source a restore's input names, or null when it names none (read leniently for lists). */
export function restoreSourceOf(input: unknown): RestoreSource | null {
  return sourcedInputSchema.safeParse(input).data?.source ?? null;
}

/** An undo's stored `Operation.input` (written by `requestUndo`). */
export const undoInputSchema = z.object({ restoreOperationId: z.string().uuid() });
export type UndoInput = z.output<typeof undoInputSchema>;

/** Any operation whose input names a source (restore, preview, entity restore): the uploaded file's path, if any. */
const sourcedInputSchema = z.object({ source: restoreSourceSchema });

export function uploadPathOf(input: unknown): string | null {
  const parsed = sourcedInputSchema.safeParse(input);
  return parsed.success && parsed.data.source.kind === 'file' ? parsed.data.source.path : null;
}
