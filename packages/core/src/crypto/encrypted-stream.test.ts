import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { createDecryptStream } from './decrypt-stream.js';
import { createEncryptStream } from './encrypt-stream.js';
import {
  CIPHERTEXT_SEGMENT_BYTES,
  isEncryptedBackup,
  plaintextSegmentSize,
  readKeyId,
  TAG_BYTES,
  type BackupKey,
} from './format.js';

const keyA: BackupKey = { id: 'key-2026-a', bytes: randomBytes(32) };
const keyB: BackupKey = { id: 'key-2026-b', bytes: randomBytes(32) };
const ring = (...keys: BackupKey[]) => new Map(keys.map((k) => [k.id, k.bytes]));

const FIRST = plaintextSegmentSize(0);
const FULL = plaintextSegmentSize(1);
const PREFIX = 4 + 2 + keyA.id.length;
const HEADER = PREFIX + 40;

/** `data` written in pieces of `sizes` (cycled), so segment boundaries fall inside and between writes. */
function source(data: Buffer, sizes: number[] = [data.length || 1]): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return Readable.from(pieces);
}

async function collect(stream: Readable, ...transforms: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    stream,
    ...(transforms as []),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

const encrypt = (data: Buffer, key = keyA, sizes?: number[]) => collect(source(data, sizes), createEncryptStream(key));
const decrypt = (file: Buffer, keyring = ring(keyA), sizes?: number[]) =>
  collect(source(file, sizes), createDecryptStream(keyring));

/** The AppError code a decryption of `file` fails with (the test fails if it succeeds). */
async function refusal(file: Buffer, keyring = ring(keyA)): Promise<string> {
  const err = await decrypt(file, keyring).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'decryption should have failed').toBeInstanceOf(AppError);
  return (err as AppError).code;
}

/** Byte offsets where each ciphertext segment of `file` starts, and where it ends. */
function segmentStarts(file: Buffer): number[] {
  const starts = [HEADER];
  let at = HEADER + CIPHERTEXT_SEGMENT_BYTES - 40;
  while (at < file.length) {
    starts.push(at);
    at += CIPHERTEXT_SEGMENT_BYTES;
  }
  return starts;
}

describe('encrypted backup stream: round trips', () => {
  const sizes: [string, number][] = [
    ['empty', 0],
    ['1 byte', 1],
    ['exactly the first segment', FIRST],
    ['first segment − 1', FIRST - 1],
    ['first segment + 1', FIRST + 1],
    ['exactly two segments', FIRST + FULL],
    ['two segments ± 1', FIRST + FULL + 1],
    ['many segments', FIRST + 6 * FULL + 12_345],
  ];
  for (const [name, size] of sizes) {
    it(`${name} (${size} bytes), written whole and in odd pieces`, async () => {
      const data = randomBytes(size);
      const file = await encrypt(data);
      expect(isEncryptedBackup(file)).toBe(true);
      expect(readKeyId(file)).toBe(keyA.id);
      const segments = size <= FIRST ? 1 : 1 + Math.ceil((size - FIRST) / FULL);
      expect(file.length).toBe(HEADER + size + TAG_BYTES * segments);
      expect((await decrypt(file)).equals(data)).toBe(true);
      const inPieces = await encrypt(data, keyA, [1, 7, 65_536, 3, 100_003]);
      expect(inPieces.length).toBe(file.length);
      expect((await decrypt(inPieces, ring(keyA), [5, 1, 40_000, 131_071])).equals(data)).toBe(true);
    });
  }

  it('two encryptions of the same data differ (fresh salt and nonce prefix per file)', async () => {
    const data = randomBytes(1000);
    const [one, two] = await Promise.all([encrypt(data), encrypt(data)]);
    expect(one.subarray(HEADER).equals(two.subarray(HEADER))).toBe(false);
  });

  it('rotation: a file written with key A reads with the keyring {A, B}; one written with B too', async () => {
    const data = randomBytes(FIRST + 10);
    expect((await decrypt(await encrypt(data, keyA), ring(keyA, keyB))).equals(data)).toBe(true);
    expect((await decrypt(await encrypt(data, keyB), ring(keyB, keyA))).equals(data)).toBe(true);
  });

  it('does not sniff plain gzip or JSON backups as encrypted', () => {
    expect(isEncryptedBackup(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe(false);
    expect(isEncryptedBackup(Buffer.from('{"metadata":'))).toBe(false);
    expect(isEncryptedBackup(Buffer.from('MPB'))).toBe(false);
  });
});

describe('encrypted backup stream: refusals', () => {
  const data = randomBytes(FIRST + 2 * FULL + 500);
  const filePromise = encrypt(data);

  it('a wrong key under the right id', async () => {
    expect(await refusal(await filePromise, ring({ id: keyA.id, bytes: randomBytes(32) }))).toBe(
      'BACKUP_DECRYPTION_FAILED',
    );
  });

  it('a key id the keyring lacks, named in the error without any key material', async () => {
    const err = await decrypt(await filePromise, ring(keyB)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'BACKUP_KEY_UNAVAILABLE', details: { keyId: keyA.id } });
    expect((err as Error).message).toContain(keyA.id);
    expect((err as Error).message).not.toContain(Buffer.from(keyB.bytes).toString('base64'));
  });

  it('every byte of the header flipped', async () => {
    const file = await filePromise;
    for (let at = 0; at < HEADER; at++) {
      const bad = Buffer.from(file);
      bad[at]! ^= 0x01;
      expect(
        ['BACKUP_DECRYPTION_FAILED', 'BACKUP_KEY_UNAVAILABLE', 'UNSUPPORTED_BACKUP_VERSION', 'BACKUP_TRUNCATED'],
        `byte ${at}`,
      ).toContain(await refusal(bad));
    }
    // The key id, salt and nonce prefix are authenticated, not only parsed: a flip in the id that names
    // another key with the same bytes still fails, as does any flip in the salt or nonce prefix.
    const renamed = Buffer.from(file);
    renamed[PREFIX - 1]! ^= 0x02;
    expect(readKeyId(renamed)).toBe('key-2026-c');
    expect(await refusal(renamed, ring(keyA, { id: 'key-2026-c', bytes: keyA.bytes }))).toBe(
      'BACKUP_DECRYPTION_FAILED',
    );
    for (let at = PREFIX + 1; at < HEADER; at++) {
      const bad = Buffer.from(file);
      bad[at]! ^= 0x40;
      expect(await refusal(bad), `byte ${at}`).toBe('BACKUP_DECRYPTION_FAILED');
    }
  });

  it('a flipped byte in a segment body and in a tag, in the first, a middle and the last segment', async () => {
    const file = await filePromise;
    const starts = segmentStarts(file);
    const ends = [...starts.slice(1), file.length];
    for (let s = 0; s < starts.length; s++) {
      for (const at of [starts[s]!, starts[s]! + 100, ends[s]! - TAG_BYTES - 1, ends[s]! - TAG_BYTES, ends[s]! - 1]) {
        const bad = Buffer.from(file);
        bad[at]! ^= 0x80;
        expect(await refusal(bad), `segment ${s}, byte ${at}`).toBe('BACKUP_DECRYPTION_FAILED');
      }
    }
  });

  it('truncated inside the header, inside a segment, and at every segment boundary', async () => {
    const file = await filePromise;
    const starts = segmentStarts(file);
    expect(starts).toHaveLength(4);
    for (const cut of [0, 3, 5, PREFIX, PREFIX + 20, HEADER - 1]) {
      expect(await refusal(file.subarray(0, cut)), `cut at ${cut}`).toMatch(
        /BACKUP_TRUNCATED|BACKUP_DECRYPTION_FAILED/,
      );
    }
    for (const cut of [HEADER - 1, 2, PREFIX + 10])
      expect(await refusal(file.subarray(0, cut))).toBe('BACKUP_TRUNCATED');
    expect(await refusal(file.subarray(0, HEADER))).toBe('BACKUP_TRUNCATED');
    for (const boundary of starts.slice(1)) {
      expect(await refusal(file.subarray(0, boundary)), `cut at segment boundary ${boundary}`).toBe('BACKUP_TRUNCATED');
      expect(await refusal(file.subarray(0, boundary - 1))).toBe('BACKUP_DECRYPTION_FAILED');
      expect(await refusal(file.subarray(0, boundary + 1))).toBe('BACKUP_DECRYPTION_FAILED');
    }
    expect(await refusal(file.subarray(0, file.length - 1))).toBe('BACKUP_DECRYPTION_FAILED');
  });

  it('reordered, repeated or dropped segments', async () => {
    const file = await filePromise;
    const [s0, s1, s2, s3] = segmentStarts(file) as [number, number, number, number];
    const head = file.subarray(0, s0);
    const seg = (from: number, to: number) => file.subarray(from, to);
    const swapped = Buffer.concat([head, seg(s0, s1), seg(s2, s3), seg(s1, s2), seg(s3, file.length)]);
    const repeated = Buffer.concat([head, seg(s0, s1), seg(s1, s2), seg(s1, s2), seg(s3, file.length)]);
    const dropped = Buffer.concat([head, seg(s0, s1), seg(s2, s3), seg(s3, file.length)]);
    for (const bad of [swapped, repeated, dropped]) expect(await refusal(bad)).toBe('BACKUP_DECRYPTION_FAILED');
  });

  it('data appended after the last segment, short or a whole segment long', async () => {
    const file = await filePromise;
    for (const extra of [1, 17, CIPHERTEXT_SEGMENT_BYTES, CIPHERTEXT_SEGMENT_BYTES + 5]) {
      expect(await refusal(Buffer.concat([file, randomBytes(extra)])), `${extra} bytes appended`).toBe(
        'BACKUP_DECRYPTION_FAILED',
      );
    }
    // A file whose last segment is full: the appended bytes follow a segment that authenticates only as the last.
    const full = await encrypt(randomBytes(FIRST + FULL));
    const err = await decrypt(Buffer.concat([full, Buffer.from('garbage')])).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'BACKUP_DECRYPTION_FAILED',
      message: expect.stringContaining('more data follows'),
    });
  });

  it('a file that is not an encrypted backup', async () => {
    expect(await refusal(Buffer.from('{"metadata":{"version":"1.0"}}'))).toBe('BACKUP_DECRYPTION_FAILED');
  });

  it('passes on no byte of a segment that fails', async () => {
    const file = await filePromise;
    const bad = Buffer.from(file);
    bad[segmentStarts(file)[1]! + 10]! ^= 1;
    const out: Buffer[] = [];
    await expect(
      pipeline(
        source(bad),
        createDecryptStream(ring(keyA)),
        new Writable({
          write: (c: Buffer, _e, cb) => {
            out.push(c);
            cb();
          },
        }),
      ),
    ).rejects.toMatchObject({ code: 'BACKUP_DECRYPTION_FAILED' });
    expect(Buffer.concat(out).equals(data.subarray(0, FIRST))).toBe(true);
  });
});

describe('encrypted backup stream: flat memory', () => {
  it(
    'streams 50 MB through encryption and decryption with a bounded distance between producer and ' + 'consumer',
    async () => {
      const total = 50 * 1024 * 1024;
      const piece = randomBytes(64 * 1024);
      let produced = 0;
      let consumed = 0;
      let widest = 0;
      const producer = new Readable({
        read() {
          if (produced >= total) return void this.push(null);
          produced += piece.length;
          this.push(piece);
        },
      });
      await pipeline(
        producer,
        createEncryptStream(keyA),
        createDecryptStream(ring(keyA)),
        new Writable({
          write(chunk: Buffer, _e, cb) {
            consumed += chunk.length;
            widest = Math.max(widest, produced - consumed);
            cb();
          },
        }),
      );
      expect(consumed).toBe(total);
      // The stream buffers hold a few segments each (about 140 KB here); a whole-file buffer would let the
      // producer run 50 MB ahead. RSS is not asserted: without a forced GC it grows with garbage, not with use.
      expect(widest).toBeLessThan(2 * 1024 * 1024);
    },
  );
});
