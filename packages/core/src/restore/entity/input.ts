import { z } from 'zod';
import { GRAPH_ENTITY_TYPES, isGraphEntityType, type GraphEntityType } from '../../dependencies/graph.js';
import { AppError } from '../../errors.js';
import { restoreSourceSchema } from '../source.js';

/** Entity ids are UUIDs in every table an entity restore can name. */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An entity restore's stored `Operation.input` (written by `requestEntityRestore`). */
export const entityRestoreInputSchema = z.object({
  source: restoreSourceSchema,
  entityType: z.enum(GRAPH_ENTITY_TYPES as [GraphEntityType, ...GraphEntityType[]]),
  entityId: z.string(),
  /** The admin who asked (user id), named by the audit log entry. */
  actorId: z.string().nullable().default(null),
});
export type EntityRestoreInput = z.output<typeof entityRestoreInputSchema>;

/**
 * Checks an entity type and id as a request names them.
 * @throws AppError UNSUPPORTED_ENTITY_TYPE (details list the supported types), VALIDATION_ERROR for an id that is not a
 * UUID
 */
export function assertEntityTarget(entityType: string, entityId: string): asserts entityType is GraphEntityType {
  if (!isGraphEntityType(entityType)) {
    throw new AppError(
      'UNSUPPORTED_ENTITY_TYPE',
      `Unsupported entity type "${entityType}"; supported: ${GRAPH_ENTITY_TYPES.join(', ')}`,
      {
        supported: GRAPH_ENTITY_TYPES,
      },
    );
  }
  if (!UUID_PATTERN.test(entityId)) {
    throw new AppError('VALIDATION_ERROR', `entityId must be a UUID for entity type ${entityType}`, {
      field: 'entityId',
    });
  }
}
