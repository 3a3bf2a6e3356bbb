#!/usr/bin/env node
// `node scripts/check-secrets.mjs <dir>`: fails (exit 1) when a log captured during the tests holds a secret
// the test helpers recorded or a secret-shaped string, listing each offending line with the secret masked.
// npm test runs it after vitest over the run's MP_TEST_LOG_DIR (service output, API test logs, queue data).
import { existsSync } from 'node:fs';
import { formatFindings, loadSecrets, scanLogDir } from './lib/secret-scan.mjs';

const dir = process.argv[2];
if (!dir || !existsSync(dir)) {
  process.stdout.write(`[secrets] no captured logs at ${dir ?? '(no folder given)'}: nothing to scan\n`);
  process.exit(0);
}
const found = scanLogDir(dir);
if (found.length > 0) {
  process.stderr.write(`[secrets] ${found.length} captured log line(s) hold a secret:\n${formatFindings(found)}\n`);
  process.exit(1);
}
process.stdout.write(
  `[secrets] captured logs clean (${loadSecrets(dir).length} recorded secrets and every secret pattern searched)\n`,
);
