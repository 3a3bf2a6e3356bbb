export * from './copies.js';
export * from './plan.js';
export * from './prune.js';
