import type { IncomingHttpHeaders } from 'node:http';
import type { ResourceStore } from './store.js';

/** The endpoints the emulator speaks; fault injection can target one of them. */
export type EmulatorAction = 'upload' | 'destroy' | 'download' | 'resources' | 'delete_resources';

export interface EmulatorContext {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  store: ResourceStore;
  /** Largest page `resources` returns whatever `max_results` asks (Cloudinary: 500). */
  maxResultsCap: number;
}

/** One request, body already read. */
export interface EmulatorCall {
  method: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Path segments after `/v1_1/<cloud>/`, decoded. */
  segments: string[];
}

/** What a route answers: a JSON body, or a stored file streamed back. */
export type EmulatorAnswer =
  | { status: number; json: unknown }
  | { status: 200; file: { path: string; size: number; filename: string; attachment: boolean } };
