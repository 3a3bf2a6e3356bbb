import type { z } from 'zod';
import type { storageEnv } from '@mp/config';
import { createCloudinaryStorage, createLocalStorage } from '@mp/storage';
import type { StorageSet } from './deps.js';

/** Builds the storage drivers from the storage part of a service's configuration. */
export function createStorageSet(config: z.output<typeof storageEnv>): StorageSet {
  return {
    local: createLocalStorage({ dir: config.BACKUP_DIR }),
    cloud: config.CLOUDINARY_URL
      ? createCloudinaryStorage({
          url: config.CLOUDINARY_URL,
          folder: config.CLOUDINARY_FOLDER,
          chunkSize: config.CLOUDINARY_CHUNK_MB * 1024 * 1024,
          urlTtlSeconds: config.CLOUDINARY_URL_TTL_SECONDS,
        })
      : null,
  };
}
