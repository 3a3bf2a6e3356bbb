import type { WorkerConfig } from '@mp/config';
import type { EncryptionSettings, RestoreDeps } from '@mp/core';
import type { Producer } from '@mp/jobs';

/** Everything the handlers need, built once in main.ts. */
export interface WorkerDeps extends RestoreDeps {
  config: WorkerConfig;
  producer: Producer;
  /** Required here (optional in core): every file a worker writes goes through it. */
  encryption: EncryptionSettings;
}
