export * from './entities.js';
export * from './check-dependencies.js';
export * from './graph.js';
