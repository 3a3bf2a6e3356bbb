export * from './parse.js';
export * from './fragments.js';
export * from './services.js';
