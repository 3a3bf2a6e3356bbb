import type { ApiConfig } from '@mp/config';
import type { FailpointName, StorageSet } from '@mp/core';
import type { PgPool, PrismaClient } from '@mp/db';
import type { Producer } from '@mp/jobs';
import type { Logger } from '@mp/logger';

/** Everything the API needs, built once by main.ts (or a test) and passed to route plugins as options. */
export interface ApiDeps {
  config: ApiConfig;
  logger: Logger;
  prisma: PrismaClient;
  pool: PgPool;
  producer: Producer;
  storage: StorageSet;
  /** Crash-drill stops (config `FAILPOINTS`); empty in production. */
  failpoints?: readonly FailpointName[];
  /** Resolves false (never rejects) when Redis does not answer a ping in time. */
  checkRedis(): Promise<boolean>;
}
