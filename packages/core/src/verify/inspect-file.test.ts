import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createEncryptStream } from '../crypto/index.js';
import { inspectBackupFile } from './inspect-file.js';

const doc = (counts: Record<string, number>, rows: Record<string, unknown[]>) =>
  Buffer.from(
    JSON.stringify({
      metadata: {
        version: '1.1',
        app: 'millennium-potters',
        timestamp: '2026-12-01T02:00:00.000Z',
        schemaVersion: '20261124120750_init',
        options: { includeAuditLogs: false, includeSessions: false },
        recordCounts: counts,
      },
      data: rows,
    }),
  );
const good = doc({ users: 2, unions: 1 }, { users: [{ id: 'a' }, { id: 'b' }], unions: [{ id: 'u' }] });
const inPieces = (buf: Buffer, size = 7) =>
  Readable.from(Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size)));
const key = { id: 'k2026', bytes: new Uint8Array(randomBytes(32)) };
const encrypt = async (buf: Buffer) => buffer(Readable.from([buf]).pipe(createEncryptStream(key)));

describe('inspectBackupFile', () => {
  it('reads a plain file in small pieces: metadata, counts, checksum of the bytes as given', async () => {
    const r = await inspectBackupFile(inPieces(good));
    expect(r).toMatchObject({
      ok: true,
      encrypted: false,
      compressed: false,
      counts: { users: 2, unions: 1 },
      bytes: good.length,
      problems: [],
    });
    expect(r.sha256).toBe((await import('node:crypto')).createHash('sha256').update(good).digest('hex'));
  });

  it('gunzips a compressed file and hashes it as stored', async () => {
    const gz = gzipSync(good);
    const r = await inspectBackupFile(inPieces(gz, 5));
    expect(r).toMatchObject({ ok: true, compressed: true, counts: { users: 2, unions: 1 }, bytes: gz.length });
  });

  it('decrypts an encrypted (and compressed) file with its key, and names the key it needs', async () => {
    const enc = await encrypt(gzipSync(good));
    const r = await inspectBackupFile(inPieces(enc, 100), new Map([[key.id, key.bytes]]));
    expect(r).toMatchObject({
      ok: true,
      encrypted: true,
      keyId: 'k2026',
      compressed: true,
      counts: { users: 2, unions: 1 },
    });
    const without = await inspectBackupFile(inPieces(enc, 100));
    expect(without.ok).toBe(false);
    expect(without.keyId).toBe('k2026');
    expect(without.problems.join(' ')).toMatch(/k2026/);
  });

  it('reports wrong counts, a truncated file and a file that is not a backup, without throwing', async () => {
    const wrong = await inspectBackupFile(inPieces(doc({ users: 3 }, { users: [{ id: 'a' }] })));
    expect(wrong.ok).toBe(false);
    expect(wrong.problems).toContain('users: the metadata says 3 rows, the file has 1');

    const truncated = await inspectBackupFile(inPieces(good.subarray(0, good.length - 10)));
    expect(truncated.ok).toBe(false);
    expect(truncated.problems[0]).toMatch(/cannot be read as a backup/);
    expect(truncated.bytes).toBe(good.length - 10);

    const brokenGzip = gzipSync(good).subarray(0, 30);
    const r = await inspectBackupFile(inPieces(brokenGzip));
    expect(r.ok).toBe(false);
    expect(r.bytes).toBe(30);

    const notJson = await inspectBackupFile(inPieces(Buffer.from('hello world')));
    expect(notJson.ok).toBe(false);

    const empty = await inspectBackupFile(inPieces(Buffer.alloc(0)));
    expect([empty.ok, empty.bytes, empty.problems]).toEqual([false, 0, ['The file is empty (0 bytes)']]);
  });

  it('refuses a tampered encrypted file', async () => {
    const enc = await encrypt(good);
    enc[enc.length - 20] = enc[enc.length - 20]! ^ 0x01;
    const r = await inspectBackupFile(inPieces(enc, 64), new Map([[key.id, key.bytes]]));
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/cannot be read as a backup/);
  });
});
