import type { Readable } from 'node:stream';

/** Where one stored copy lives; the backup record keeps this so the copy can be found again. */
export type StoredLocation =
  | { kind: 'local'; path: string }
  | {
      kind: 'cloud';
      publicId: string;
      assetId: string;
      url: string;
      secureUrl: string;
      resourceType: 'raw';
      type: 'authenticated';
    };

/** What `put` returns: the key, the bytes written and where they live. */
export interface StoredObject {
  key: string;
  size: number;
  location: StoredLocation;
}

/** One entry of `list` / `stat`. */
export interface StoredObjectInfo {
  key: string;
  size: number;
  /** Last modification (local) or creation (cloud) time. */
  modifiedAt: Date;
}

export interface DeleteResult {
  deleted: boolean;
  /** The object was already gone: not an error, so deleting twice is safe. */
  notFound: boolean;
}

/** Options of {@link BackupStorage.put}. */
export interface PutOptions {
  /** The body's size when known: a hint only. */
  size?: number;
  /**
   * Cloud only, for crash drills: awaited after each part of a chunked upload but the last has been stored
   * (its answer arrived), with the bytes stored so far; the upload reads on once it settles. Local storage
   * ignores it.
   */
  afterPart?: (bytesStored: number) => Promise<void>;
}

/**
 * A place backup files are kept. Keys are flat file names (see `assertValidKey`); every method
 * rejects anything else with `StorageError('STORAGE_INVALID_KEY')` before touching the storage.
 */
export interface BackupStorage {
  readonly kind: 'local' | 'cloud';
  /**
   * Streams `body` into the object `key`, replacing any previous object of that key only once the
   * whole body is stored. On failure nothing partial remains readable under `key`. `size`, when known,
   * is a hint only. The body is consumed (or destroyed on failure).
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<StoredObject>;
  /** Opens the object for reading. Throws `STORAGE_NOT_FOUND` when it does not exist. */
  open(key: string): Promise<Readable>;
  /** Size and time of one object (for Content-Length). Throws `STORAGE_NOT_FOUND` when missing. */
  stat?(key: string): Promise<StoredObjectInfo>;
  /** An expiring URL that downloads the object without credentials (cloud only). Makes no request. */
  signedUrl?(key: string, ttlSeconds?: number): string;
  /**
   * Deletes temporary files an interrupted `put` of `key` left behind (a killed process cannot
   * clean up after itself). Only safe while no other `put` of the same key runs. Local only.
   */
  removeTemporaries?(key: string): Promise<number>;
  /** Removes the object; an object already gone reports `notFound` instead of throwing. */
  delete(key: string): Promise<DeleteResult>;
  /** Objects whose key starts with `prefix` (all when omitted), in key order. */
  list(prefix?: string): Promise<StoredObjectInfo[]>;
}
