// Test fixture (imported by tests only): a small document in this product's line layout, two tables, and the
// record that promises a given copy's bytes. The read-back tests store it, damage it and read it back.
import { createHash } from 'node:crypto';
import type { ExpectedFile } from './read-copy.js';

export const SMALL_METADATA = {
  version: '1.1',
  app: 'millennium-potters',
  timestamp: '2026-12-01T02:00:00.000Z',
  schemaVersion: '20261124120750_init',
  options: { includeAuditLogs: false, includeSessions: false },
  recordCounts: { users: 1, loans: 2 },
};

/** The document up to the line where its `loans` table starts (one user row before it). */
export const SMALL_HEAD = `{"metadata":${JSON.stringify(SMALL_METADATA)},\n"data":{\n"users":[\n{"id":"u1"}\n],\n`;

/** What a record of these bytes holds: their SHA-256 and size, stored uncompressed, the fixture's metadata. */
export function expectedFor(bytes: Buffer): ExpectedFile {
  return {
    checksum: createHash('sha256').update(bytes).digest('hex'),
    fileSize: bytes.length,
    compressed: false,
    formatVersion: SMALL_METADATA.version,
    schemaVersion: SMALL_METADATA.schemaVersion,
    recordCounts: SMALL_METADATA.recordCounts,
  };
}
