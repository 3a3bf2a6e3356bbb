import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, checkBackupDocument, isEncryptedBackup, type RestoreSource } from '@mp/core';
import { writeTemporary } from '@mp/storage';

const jsonBody = z
  .object({
    backupId: z.uuid().optional(),
    backupData: z.unknown().optional(),
    skipSafetyBackup: z.boolean().default(false),
    allowNoAdmin: z.boolean().default(false),
  })
  .strict()
  .refine((b) => (b.backupId === undefined) !== (b.backupData === undefined), {
    message: 'give exactly one of backupId, backupData (or upload a file as multipart field "file")',
    path: ['backupId'],
  });

export interface RestoreInput {
  source: RestoreSource;
  skipSafetyBackup: boolean;
  /** Restore even a file after which no active ADMIN could log in. */
  allowNoAdmin: boolean;
}

type Sniffed = 'gzip' | 'json' | 'encrypted' | 'invalid' | 'undecided';

const BLANK = new Set([0x20, 0x09, 0x0a, 0x0d]);

const ENCRYPTED_MAGIC = Buffer.from('MPBE', 'ascii');

/**
 * gzip by its magic bytes 1f 8b; an encrypted backup by its header `MPBE` (the worker decrypts it,
 * with the key its header names); JSON when the first non-blank byte (after a UTF-8 BOM) is `{`.
 */
export function sniffFormat(head: Buffer): Sniffed {
  if (head.length === 0) return 'undecided';
  if (head[0] === ENCRYPTED_MAGIC[0]) {
    if (head.length < ENCRYPTED_MAGIC.length) return ENCRYPTED_MAGIC.subarray(0, head.length).equals(head) ? 'undecided' : 'invalid';
    return isEncryptedBackup(head) ? 'encrypted' : 'invalid';
  }
  if (head[0] === 0x1f) return head.length < 2 ? 'undecided' : head[1] === 0x8b ? 'gzip' : 'invalid';
  let i = 0;
  if (head[0] === 0xef) {
    if (head.length < 3) return 'undecided';
    if (head[1] !== 0xbb || head[2] !== 0xbf) return 'invalid';
    i = 3;
  }
  while (i < head.length && BLANK.has(head[i] as number)) i++;
  if (i < head.length) return head[i] === 0x7b ? 'json' : 'invalid';
  return head.length > 4096 ? 'invalid' : 'undecided';
}

const notABackup = () =>
  new AppError('INVALID_BACKUP_FILE', 'The uploaded file is neither JSON nor gzip-compressed JSON (nor an encrypted backup of this service)');

/**
 * Streams an upload to `<dir>/<operationId>.json[.gz]` without holding it in memory: written under a
 * temporary name, format sniffed from the first bytes, renamed on success, removed on any failure.
 */
export async function saveUpload(
  body: Readable,
  dir: string,
  operationId: string,
  /** Multipart streams past the size limit just end early; this tells a cut file from a whole one. */
  truncated: () => boolean = () => false,
): Promise<{ path: string; compressed: boolean }> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${operationId}.upload.tmp`);
  let head = Buffer.alloc(0);
  const state: { format: Sniffed } = { format: 'undecided' };
  const sniff = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (state.format === 'undecided') {
        head = Buffer.concat([head, chunk]);
        state.format = sniffFormat(head);
        if (state.format === 'invalid') return done(notABackup());
      }
      done(null, chunk);
    },
  });
  // Opened before the first byte and removed only once closed: no file outlives a failed upload.
  await writeTemporary(tmp, body, sniff);
  try {
    if (truncated()) throw new AppError('PAYLOAD_TOO_LARGE', 'The uploaded file is larger than allowed');
    const { format } = state;
    if (format !== 'gzip' && format !== 'json' && format !== 'encrypted') throw notABackup();
    const path = join(dir, `${operationId}.json${format === 'gzip' ? '.gz' : format === 'encrypted' ? '.enc' : ''}`);
    await rename(tmp, path);
    return { path, compressed: format === 'gzip' };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readUpload(request: FastifyRequest, dir: string, operationId: string): Promise<RestoreInput> {
  const part = await request.file();
  if (!part || part.fieldname !== 'file') {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', [{ path: 'body.file', message: 'upload the backup as field "file"' }]);
  }
  const flag = (name: string) => {
    const field = part.fields[name];
    return !!field && !Array.isArray(field) && field.type === 'field' && String(field.value) === 'true';
  };
  const saved = await saveUpload(part.file, dir, operationId, () => part.file.truncated);
  return { source: { kind: 'file', ...saved }, skipSafetyBackup: flag('skipSafetyBackup'), allowNoAdmin: flag('allowNoAdmin') };
}

/**
 * The multipart parser (busboy) rejects a broken body with a bare Error (no status, no code): that is
 * the client's mistake, a 400. Errors with a status (fastify's, the multipart plugin's limits), domain
 * errors and system errors (a full disk has a `syscall`) keep their own meaning.
 */
function malformedMultipart(err: unknown): never {
  const e = err as { statusCode?: unknown; code?: unknown; syscall?: unknown } | null;
  if (err instanceof Error && !(err instanceof AppError) && e?.statusCode === undefined && e?.code === undefined && e?.syscall === undefined) {
    throw new AppError('VALIDATION_ERROR', `The multipart body is malformed (${err.message.slice(0, 200)}); upload the backup as field "file"`);
  }
  throw err;
}

/**
 * Reads the three accepted shapes of a restore request: multipart field `file` (send the fields
 * `skipSafetyBackup` and `allowNoAdmin`, as `true`, before it), JSON `{ backupData }` (quick-checked, then written like an upload),
 * or JSON `{ backupId }`. Files land in `dir` named after `operationId`.
 * @throws AppError VALIDATION_ERROR, INVALID_BACKUP_FILE, UNSUPPORTED_BACKUP_VERSION
 */
export async function readRestoreInput(request: FastifyRequest, dir: string, operationId: string): Promise<RestoreInput> {
  if (request.isMultipart()) return readUpload(request, dir, operationId).catch(malformedMultipart);
  const parsed = jsonBody.safeParse(request.body ?? {});
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message }));
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', details);
  }
  const { backupId, backupData, skipSafetyBackup, allowNoAdmin } = parsed.data;
  if (backupId) return { source: { kind: 'backup', backupId }, skipSafetyBackup, allowNoAdmin };
  checkBackupDocument(backupData);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${operationId}.upload.tmp`);
  const path = join(dir, `${operationId}.json`);
  await writeFile(tmp, JSON.stringify(backupData), { flag: 'wx' });
  await rename(tmp, path).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
  return { source: { kind: 'file', path, compressed: false }, skipSafetyBackup, allowNoAdmin };
}
