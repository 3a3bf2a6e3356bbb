/**
 * Decrypts a downloaded backup file to stdout (a file in clear passes through unchanged):
 * `npm run -s backup:decrypt -- <file> > backup.json.gz`. Keys come from BACKUP_ENCRYPTION_KEY and
 * BACKUP_DECRYPTION_KEYS, as for the worker. Nothing is written when the file does not authenticate,
 * except what was already verified: treat the output as void on a non-zero exit.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { encryptionEnv, loadConfigOrExit } from '@mp/config';
import { openPlaintext, readEncryptionSettings } from '@mp/core';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npm run -s backup:decrypt -- <file> > <plaintext file>\n');
  process.exit(2);
}
try {
  const keys = readEncryptionSettings(loadConfigOrExit(encryptionEnv, process.env));
  const plain = await openPlaintext(createReadStream(file), keys.keyring);
  await pipeline(plain.stream, process.stdout);
  process.stderr.write(
    plain.keyId ? `decrypted (key "${plain.keyId}")\n` : 'the file is not encrypted; copied as is\n',
  );
} catch (err) {
  process.stderr.write(`backup:decrypt failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
