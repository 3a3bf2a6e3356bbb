export {
  startCloudinaryEmulator,
  type CloudinaryEmulator,
  type CloudinaryEmulatorOptions,
  type EmulatorRequestRecord,
} from './server.js';
export type { EmulatedResource } from './store.js';
export type { EmulatorAction } from './types.js';
export { signParams, stringToSign } from './signature.js';
