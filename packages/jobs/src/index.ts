export * from './catalog.js';
export * from './producer.js';
export { UnrecoverableError } from 'bullmq';
