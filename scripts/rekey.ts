/**
 * Re-encrypts every stored backup written with an older key to the current one:
 * `npm run backup:rekey -- --from <keyId>`. Queues the `backup.rekey` job (a worker with
 * BACKUP_ENCRYPTION_KEY = the new key and the old key in BACKUP_DECRYPTION_KEYS runs it), then follows
 * its Operation row and prints progress and the result. Env: DATABASE_URL, REDIS_URL, QUEUE_PREFIX.
 * Exit status 0 when every backup moved, 1 otherwise. `--no-wait` only queues it and prints the id.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseEnv, loadConfigOrExit, redisEnv } from '@mp/config';
import { requestRekey } from '@mp/core';
import { createPrismaClient } from '@mp/db';
import { createProducer } from '@mp/jobs';

const { values } = parseArgs({ options: { from: { type: 'string' }, 'no-wait': { type: 'boolean', default: false } } });
if (!values.from) {
  process.stderr.write('usage: npm run backup:rekey -- --from <old key id> [--no-wait]\n');
  process.exit(2);
}
const env = loadConfigOrExit(databaseEnv.extend(redisEnv.shape), process.env);
const prisma = createPrismaClient(env.DATABASE_URL, { max: 1 });
const producer = createProducer({ redisUrl: env.REDIS_URL, prefix: env.QUEUE_PREFIX });
try {
  const { operationId } = await requestRekey({ prisma, producer }, { fromKeyId: values.from, createdBy: 'cli' });
  process.stdout.write(`Re-key queued: operation ${operationId} (from key "${values.from}")\n`);
  if (!values['no-wait']) {
    let last = '';
    for (;;) {
      const op = await prisma.operation.findUniqueOrThrow({ where: { id: operationId } });
      const progress = JSON.stringify(op.progress ?? {});
      if (progress !== last) process.stdout.write(`  ${op.status} ${progress}\n`);
      last = progress;
      if (op.status === 'completed' || op.status === 'failed') {
        process.stdout.write(`${JSON.stringify({ status: op.status, error: op.error, result: op.result }, null, 2)}\n`);
        if (op.status === 'failed') process.exitCode = 1;
        break;
      }
      await sleep(1000);
    }
  }
} catch (err) {
  process.stderr.write(`backup:rekey failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await producer.close();
  await prisma.$disconnect();
}
