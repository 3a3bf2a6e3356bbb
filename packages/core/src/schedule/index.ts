export * from './settings.js';
export * from './scheduler.js';
export * from './next-runs.js';
export * from './schedule-service.js';
export * from './scheduled-record.js';
