export * from './cloudinary-emulator/index.js';
export * from './db.js';
export * from './api.js';
export * from './snapshots.js';
export * from './processes.js';
export * from './secrets.js';
export * from './hostile-corpus.js';
export * from './private-services.js';
