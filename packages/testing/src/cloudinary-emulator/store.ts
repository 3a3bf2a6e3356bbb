import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EmulatorHttpError } from './http-error.js';

/** One stored asset, as `resources()` reports it. */
export interface EmulatedResource {
  assetId: string;
  publicId: string;
  resourceType: string;
  type: string;
  bytes: number;
  version: number;
  createdAt: Date;
  /** The file holding the asset's bytes (inside the emulator's folder). */
  path: string;
  /** SHA-256 hex of the bytes, computed as they arrived. */
  sha256: string;
}

interface ChunkSession {
  path: string;
  received: number;
  hash: ReturnType<typeof createHash>;
}

/** Assets and unfinished chunked uploads, kept as files in `dir`. */
export class ResourceStore {
  private readonly assets = new Map<string, EmulatedResource>();
  private readonly sessions = new Map<string, ChunkSession>();

  constructor(private readonly dir: string) {}

  get(resourceType: string, type: string, publicId: string): EmulatedResource | undefined {
    return this.assets.get(assetKey(resourceType, type, publicId));
  }

  all(): EmulatedResource[] {
    return [...this.assets.values()].map((r) => ({ ...r }));
  }

  list(resourceType: string, type: string, prefix: string): EmulatedResource[] {
    return [...this.assets.values()]
      .filter((r) => r.resourceType === resourceType && r.type === type && r.publicId.startsWith(prefix))
      .sort((a, b) => (a.publicId < b.publicId ? -1 : 1));
  }

  /** Stores a whole file sent in one request. */
  async putWhole(resourceType: string, type: string, publicId: string, data: Buffer): Promise<EmulatedResource> {
    const path = join(this.dir, `upload-${randomBytes(8).toString('hex')}`);
    await writeFile(path, data);
    return this.commit(
      resourceType,
      type,
      publicId,
      path,
      data.length,
      createHash('sha256').update(data).digest('hex'),
    );
  }

  /**
   * Writes one part of a chunked upload at its offset. Parts must arrive in order (as the SDK sends
   * them). Returns the stored asset once the part carrying the total completes it, else undefined.
   */
  async putPart(
    uploadId: string,
    range: { first: number; last: number; total: number | undefined },
    target: { resourceType: string; type: string; publicId: string },
    data: Buffer,
  ): Promise<EmulatedResource | undefined> {
    let session = this.sessions.get(uploadId);
    if (!session) {
      session = {
        path: join(this.dir, `chunks-${randomBytes(8).toString('hex')}`),
        received: 0,
        hash: createHash('sha256'),
      };
      this.sessions.set(uploadId, session);
    }
    if (range.first !== session.received) {
      throw new EmulatorHttpError(400, `Chunk out of order: expected offset ${session.received}, got ${range.first}`);
    }
    if (range.last - range.first + 1 !== data.length) {
      throw new EmulatorHttpError(
        400,
        `Content-Range covers ${range.last - range.first + 1} bytes but the part holds ${data.length}`,
      );
    }
    const handle = await open(session.path, session.received === 0 ? 'w' : 'r+');
    try {
      await handle.write(data, 0, data.length, range.first);
    } finally {
      await handle.close();
    }
    session.received += data.length;
    session.hash.update(data);
    if (range.total === undefined) return undefined;
    this.sessions.delete(uploadId);
    if (range.total !== session.received) {
      await rm(session.path, { force: true });
      throw new EmulatorHttpError(400, `Upload declares ${range.total} bytes but ${session.received} arrived`);
    }
    return this.commit(
      target.resourceType,
      target.type,
      target.publicId,
      session.path,
      session.received,
      session.hash.digest('hex'),
    );
  }

  async delete(resourceType: string, type: string, publicId: string): Promise<boolean> {
    const key = assetKey(resourceType, type, publicId);
    const asset = this.assets.get(key);
    if (!asset) return false;
    this.assets.delete(key);
    await rm(asset.path, { force: true });
    return true;
  }

  private async commit(
    resourceType: string,
    type: string,
    publicId: string,
    tmpPath: string,
    bytes: number,
    sha256: string,
  ): Promise<EmulatedResource> {
    const previous = this.get(resourceType, type, publicId);
    const path = join(this.dir, `asset-${randomBytes(8).toString('hex')}`);
    await rename(tmpPath, path);
    const asset: EmulatedResource = {
      assetId: randomBytes(16).toString('hex'),
      publicId,
      resourceType,
      type,
      bytes,
      version: Math.floor(Date.now() / 1000),
      createdAt: new Date(),
      path,
      sha256,
    };
    this.assets.set(assetKey(resourceType, type, publicId), asset);
    if (previous) await rm(previous.path, { force: true });
    return asset;
  }
}

function assetKey(resourceType: string, type: string, publicId: string): string {
  return `${resourceType}\u0000${type}\u0000${publicId}`;
}
