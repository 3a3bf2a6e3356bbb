export { previewEntityRestore } from './preview-entity-restore.js';
export { runEntityRestore, type EntityRestoreDeps, type EntityRestoreResult } from './run-entity-restore.js';
export { requestEntityRestore } from './request-entity-restore.js';
export { planEntityRestore, type EntityPlan, type EntityConflict } from './plan.js';
export { ENTITY_SCHEMA_PREFIX } from './stage-source.js';
export { entityRestoreInputSchema, type EntityRestoreInput } from './input.js';
