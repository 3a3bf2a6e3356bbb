export type {
  BackupStorage,
  DeleteResult,
  PutOptions,
  StoredLocation,
  StoredObject,
  StoredObjectInfo,
} from './storage.js';
export { StorageError, isStorageError, type StorageErrorCode } from './errors.js';
export { assertValidKey } from './keys.js';
export { createLocalStorage, writeTemporary, type LocalStorageOptions } from './local-storage.js';
export {
  createCloudinaryStorage,
  MIN_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  type CloudinaryStorageOptions,
} from './cloudinary-storage.js';
export { parseCloudinaryUrl, type CloudinaryCredentials } from './cloudinary-url.js';
export { copyObject } from './copy-object.js';
export { settleWithin } from './timeout.js';
export { teeStream, type Tee } from './tee.js';
