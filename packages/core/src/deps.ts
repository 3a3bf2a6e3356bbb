import type { Logger } from '@mp/logger';
import type { PgPool, PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import type { BackupStorage } from '@mp/storage';
import type { FailpointName } from './failpoints.js';

/** The copies a backup can have: local always exists; cloud only when Cloudinary is configured. */
export interface StorageSet {
  local: BackupStorage;
  cloud: BackupStorage | null;
}

/**
 * Dependencies of core functions. Each function takes the subset it needs (`Pick<CoreDeps, …>`),
 * so tests pass only what matters.
 */
export interface CoreDeps {
  prisma: PrismaClient;
  pool: PgPool;
  storage: StorageSet;
  producer: Producer;
  logger: Logger;
  /** Injected clock for tests; defaults to `() => new Date()`. */
  now?: () => Date;
  /** Folder where uploaded restore files wait for the worker. */
  uploadDir: string;
  /** Crash-drill stops (config `FAILPOINTS`); empty in production. */
  failpoints?: readonly FailpointName[];
}
