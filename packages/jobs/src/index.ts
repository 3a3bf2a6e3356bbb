export * from './catalog.js';
export * from './producer.js';
export * from './redis.js';
export { UnrecoverableError } from 'bullmq';
