export * from './plan.js';
export * from './prune.js';
