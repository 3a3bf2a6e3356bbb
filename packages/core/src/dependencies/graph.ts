import type { BackupTableKey } from '../backup-format/tables.js';

/**
 * One foreign key between the data tables: `child.column` points at `parent.id`. The relations are
 * the dependency graph of the product: the dependency check (`checkDependencies`) counts a relation's
 * rows under its `dependent` name, and the entity restore walks the same relations.
 */
export interface Relation {
  child: BackupTableKey;
  column: string;
  parent: BackupTableKey;
  /**
   * What deleting the parent does to the child. `restrict`: the delete is refused while such
   * children exist (the dependency check's blockers), so a deleted parent's restrict children were
   * deleted before it: they are what "hangs off" it. `setNull` and `cascade` children are not.
   */
  onDelete: 'restrict' | 'setNull' | 'cascade';
  /** The count the dependency check reports for this relation, on the parent's entity type. */
  dependent?: string;
}

/** Every foreign key between the tables a backup holds (checked against the catalog by the entity-restore tests). */
export const RELATIONS: readonly Relation[] = [
  { child: 'users', column: 'supervisorId', parent: 'users', onDelete: 'restrict', dependent: 'supervisees' },
  { child: 'unions', column: 'creditOfficerId', parent: 'users', onDelete: 'restrict', dependent: 'unions' },
  { child: 'unionMembers', column: 'unionId', parent: 'unions', onDelete: 'restrict', dependent: 'unionMembers' },
  {
    child: 'unionMembers',
    column: 'createdById',
    parent: 'users',
    onDelete: 'setNull',
    dependent: 'unionMembersCreated',
  },
  { child: 'loans', column: 'unionMemberId', parent: 'unionMembers', onDelete: 'restrict', dependent: 'loans' },
  { child: 'loans', column: 'loanTypeId', parent: 'loanTypes', onDelete: 'restrict', dependent: 'loans' },
  { child: 'loans', column: 'createdById', parent: 'users', onDelete: 'restrict', dependent: 'loansCreated' },
  { child: 'loans', column: 'approvedById', parent: 'users', onDelete: 'restrict', dependent: 'loansApproved' },
  { child: 'repayments', column: 'loanId', parent: 'loans', onDelete: 'restrict' },
  {
    child: 'repayments',
    column: 'receivedById',
    parent: 'users',
    onDelete: 'setNull',
    dependent: 'repaymentsReceived',
  },
  { child: 'sessions', column: 'userId', parent: 'users', onDelete: 'cascade', dependent: 'activeSessions' },
];

/** The table of each entity type an entity can be named by (the dependency check's types, plus `loan`). */
export const ENTITY_TABLES = {
  user: 'users',
  union: 'unions',
  unionMember: 'unionMembers',
  loanType: 'loanTypes',
  loan: 'loans',
} as const satisfies Record<string, BackupTableKey>;
export type GraphEntityType = keyof typeof ENTITY_TABLES;
export const GRAPH_ENTITY_TYPES = Object.keys(ENTITY_TABLES) as GraphEntityType[];

export function isGraphEntityType(value: string): value is GraphEntityType {
  return Object.hasOwn(ENTITY_TABLES, value);
}

/** The relations whose children hang off a row of `parent` (deleted before it, restored with it). */
export function ownedRelations(parent: BackupTableKey): Relation[] {
  return RELATIONS.filter((r) => r.parent === parent && r.onDelete === 'restrict');
}
