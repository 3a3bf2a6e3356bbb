export { isEncryptedBackup, readKeyId, type BackupKey, type Keyring } from './format.js';
export { createEncryptStream } from './encrypt-stream.js';
export { createDecryptStream } from './decrypt-stream.js';
export { parseKeyConfig, type BackupKeyConfig } from './key-config.js';
export {
  encryptForStorage,
  NO_ENCRYPTION,
  openPlaintext,
  readEncryptionSettings,
  type EncryptionSettings,
  type PlainBackup,
} from './plaintext.js';
