import type { WorkerConfig } from '@mp/config';
import type { EncryptionSettings, StorageSet } from '@mp/core';
import type { PgPool, PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import type { Logger } from '@mp/logger';

/**
 * The worker's own dependencies, built once in main.ts: its configuration and the clients made from it.
 * What a core run needs beyond these (compression settings, failpoints, the upload folder, the undo window)
 * is derived from `config` in one place, `handlers/shared.ts`.
 */
export interface WorkerDeps {
  config: WorkerConfig;
  logger: Logger;
  prisma: PrismaClient;
  pool: PgPool;
  producer: Producer;
  storage: StorageSet;
  /** Required here (optional in core): every file a worker writes goes through it. */
  encryption: EncryptionSettings;
}
