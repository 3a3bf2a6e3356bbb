import type { CoreDeps } from '../deps.js';
import { AppError } from '../errors.js';
import {
  ENTITY_DEFINITIONS,
  ENTITY_TYPES,
  countPhrase,
  joinPhrases,
  type EntityDefinition,
  type EntityType,
  type Phrase,
} from './entities.js';

/** Any UUID-shaped id (every entity of the schema has one); case-insensitive, version not checked. */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DependencyReport {
  entityType: EntityType;
  entityId: string;
  /** False when deleting the entity would be refused because other rows reference it. */
  canDelete: boolean;
  /** Count per dependent kind (every kind of the type, zeros included). */
  dependencies: Record<string, number>;
  message: string;
}

export function isEntityType(value: string): value is EntityType {
  return Object.hasOwn(ENTITY_DEFINITIONS, value);
}

/**
 * The sentence of a report: "Cannot delete: 5 active loans and 12 members depend on this union",
 * or "Can be deleted: nothing depends on this union" (plus what the delete would also change).
 */
export function dependencyMessage(label: string, blockers: Phrase[], effects: string[]): string {
  const present = blockers.filter((p) => p.count > 0);
  if (present.length > 0) {
    const singular = present.length === 1 && present[0]?.count === 1;
    return (
      `Cannot delete: ${joinPhrases(present.map(countPhrase))} ${singular ? 'depends' : 'depend'} on this ` + `${label}`
    );
  }
  const also = effects.length > 0 ? `; deleting it ${joinPhrases(effects)}` : '';
  return `Can be deleted: nothing depends on this ${label}${also}`;
}

/**
 * Counts what depends on one user, union, union member or loan type, and whether it can be deleted
 * (nothing references it through a restrictive foreign key). Reads only; the counts are a snapshot.
 * @throws AppError `UNSUPPORTED_ENTITY_TYPE` (details list the supported types), `VALIDATION_ERROR` for
 *   an id that is not a UUID, `ENTITY_NOT_FOUND` when no such entity exists.
 */
export async function checkDependencies(
  deps: Pick<CoreDeps, 'prisma' | 'now'>,
  input: { entityType: string; entityId: string },
): Promise<DependencyReport> {
  const { entityType, entityId } = input;
  if (!isEntityType(entityType)) {
    throw new AppError(
      'UNSUPPORTED_ENTITY_TYPE',
      `Unsupported entity type "${entityType}"; supported: ${ENTITY_TYPES.join(', ')}`,
      { supported: ENTITY_TYPES },
    );
  }
  if (!UUID_PATTERN.test(entityId)) {
    throw new AppError('VALIDATION_ERROR', `entityId must be a UUID for entity type ${entityType}`, {
      field: 'entityId',
    });
  }
  // The definitions differ only in their count keys; one widened view keeps this function generic.
  const def = ENTITY_DEFINITIONS[entityType] as unknown as EntityDefinition;
  if (!(await def.exists(deps.prisma, entityId))) {
    throw new AppError('ENTITY_NOT_FOUND', `No ${def.label} with id ${entityId}`, { entityType, entityId });
  }
  const counts = await def.count(deps.prisma, entityId, deps.now?.() ?? new Date());
  const blockers = def.blockers(counts);
  const canDelete = blockers.every((p) => p.count === 0);
  return {
    entityType,
    entityId,
    canDelete,
    dependencies: counts,
    message: dependencyMessage(def.label, blockers, def.effects?.(counts) ?? []),
  };
}
