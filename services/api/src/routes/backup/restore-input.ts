import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, checkBackupDocument, checkTableKeys, isEncryptedBackup, type RestoreSource } from '@mp/core';
import { writeTemporary } from '@mp/storage';
import { BACKUP_DOCUMENT_EXAMPLE } from '../../schemas/backup-document.js';

const bodyFields = {
  backupId: z.uuid().optional().meta({ description: 'A stored backup' }),
  backupData: z
    .unknown()
    .optional()
    .meta({ description: 'A whole backup document (format 1.0: `{ metadata, data }`)' }),
  skipSafetyBackup: z.boolean().default(false),
  allowNoAdmin: z.boolean().default(false),
  /** Selective restore: backup table keys (`loanTypes`, `unions`, …); absent = the whole file. */
  tables: z.array(z.string()).min(1).optional(),
  withDependencies: z.boolean().default(false),
};
const oneSource = {
  message: 'give exactly one of backupId, backupData (or upload a file as multipart field "file")',
  path: ['backupId'],
};
const BACKUP_ID = '1f0c9a2b-5d3e-4f6a-8b7c-9d0e1f2a3b4c';

/**
 * The JSON body of POST /api/backup/restore. Read by {@link readRestoreInput} (a multipart upload has no JSON
 * body, so the route does not validate with it); the route shows it in /docs.
 */
export const restoreJsonBody = z
  .object(bodyFields)
  .strict()
  .refine((b) => (b.backupId === undefined) !== (b.backupData === undefined), oneSource)
  .meta({
    description: 'Exactly one of `backupId` and `backupData` (or a multipart upload, field `file`)',
    examples: [
      { backupId: BACKUP_ID },
      { backupId: BACKUP_ID, tables: ['loanTypes', 'unions'], withDependencies: true },
      { backupData: BACKUP_DOCUMENT_EXAMPLE },
    ],
  });
/**
 * A route's `validatorCompiler` for a body schema that is there for /docs only: the restore routes take JSON or a
 * multipart upload (which has no JSON body), so their handlers parse the body themselves.
 */
export const documentOnly = () => (value: unknown) => ({ value });

/** A preview also takes an entity (`{ backupId, entityType, entityId }`). */
export const previewJsonBody = z
  .object({ ...bodyFields, entityType: z.string().min(1).optional(), entityId: z.string().min(1).optional() })
  .strict()
  .refine((b) => (b.backupId === undefined) !== (b.backupData === undefined), oneSource)
  .meta({
    description: 'The inputs of a restore, or one entity of a stored backup',
    examples: [
      { backupId: BACKUP_ID, tables: ['loans'] },
      { backupId: BACKUP_ID, entityType: 'union', entityId: '4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c' },
    ],
  });

export interface RestoreInput {
  source: RestoreSource;
  skipSafetyBackup: boolean;
  /** Restore even a file after which no active ADMIN could log in. */
  allowNoAdmin: boolean;
  /** Selective: the table keys asked for (checked against the format's tables). */
  tables?: string[];
  withDependencies: boolean;
  /** Preview only: one entity of the backup. */
  entity?: { entityType: string; entityId: string };
}

/**
 * Checks the table selection and entity fields of a request (before any file is written).
 * @throws AppError VALIDATION_ERROR for an unknown table key (listing the valid ones), `withDependencies`
 *   without `tables`, an entity half given, or an entity combined with `tables`
 */
function readSelection(fields: {
  tables?: string[];
  withDependencies: boolean;
  entityType?: string;
  entityId?: string;
}) {
  const invalid = (path: string, message: string) =>
    new AppError('VALIDATION_ERROR', `Request validation failed: ${message}`, [{ path, message }]);
  const tables = fields.tables ? checkTableKeys(fields.tables) : undefined;
  if (fields.withDependencies && !tables) throw invalid('body.withDependencies', 'withDependencies needs "tables"');
  if ((fields.entityType === undefined) !== (fields.entityId === undefined))
    throw invalid('body.entityId', 'give both entityType and entityId');
  if (fields.entityType !== undefined && tables)
    throw invalid('body.tables', 'give either tables or an entity, not both');
  const entity =
    fields.entityType !== undefined ? { entityType: fields.entityType, entityId: fields.entityId! } : undefined;
  return { ...(tables ? { tables } : {}), withDependencies: fields.withDependencies, ...(entity ? { entity } : {}) };
}

type Sniffed = 'gzip' | 'zstd' | 'json' | 'encrypted' | 'invalid' | 'undecided';

const BLANK = new Set([0x20, 0x09, 0x0a, 0x0d]);

const ENCRYPTED_MAGIC = Buffer.from('MPBE', 'ascii');
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * gzip by its magic bytes 1f 8b; zstd by 28 b5 2f fd; an encrypted backup by its header `MPBE` (the worker decrypts it,
 * with the key its header names); JSON when the first non-blank byte (after a UTF-8 BOM) is `{`.
 */
export function sniffFormat(head: Buffer): Sniffed {
  if (head.length === 0) return 'undecided';
  if (head[0] === ENCRYPTED_MAGIC[0]) {
    if (head.length < ENCRYPTED_MAGIC.length)
      return ENCRYPTED_MAGIC.subarray(0, head.length).equals(head) ? 'undecided' : 'invalid';
    return isEncryptedBackup(head) ? 'encrypted' : 'invalid';
  }
  if (head[0] === 0x1f) return head.length < 2 ? 'undecided' : head[1] === 0x8b ? 'gzip' : 'invalid';
  if (head[0] === ZSTD_MAGIC[0]) {
    if (head.length < ZSTD_MAGIC.length)
      return ZSTD_MAGIC.subarray(0, head.length).equals(head) ? 'undecided' : 'invalid';
    return ZSTD_MAGIC.equals(head.subarray(0, ZSTD_MAGIC.length)) ? 'zstd' : 'invalid';
  }
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

const UPLOAD_EXTENSIONS = { gzip: '.gz', zstd: '.zst', encrypted: '.enc', json: '' } as const;

const notABackup = () =>
  new AppError(
    'INVALID_BACKUP_FILE',
    'The uploaded file is neither JSON nor gzip- or zstd-compressed JSON (nor an encrypted backup of this service)',
  );

/**
 * Streams an upload to `<dir>/<operationId>.json[.gz|.zst|.enc]` without holding it in memory: written under a
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
    if (head.length === 0) throw new AppError('INVALID_BACKUP_FILE', 'The uploaded file is empty (0 bytes)');
    if (format !== 'gzip' && format !== 'zstd' && format !== 'json' && format !== 'encrypted') throw notABackup();
    const path = join(dir, `${operationId}.json${UPLOAD_EXTENSIONS[format]}`);
    await rename(tmp, path);
    return { path, compressed: format === 'gzip' || format === 'zstd' };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readUpload(
  request: FastifyRequest,
  dir: string,
  operationId: string,
  preview: boolean,
): Promise<RestoreInput> {
  const part = await request.file();
  if (!part || part.fieldname !== 'file') {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', [
      { path: 'body.file', message: 'upload the backup as field "file"' },
    ]);
  }
  const values = (name: string): string[] => {
    const field = part.fields[name];
    return (Array.isArray(field) ? field : field ? [field] : []).flatMap((f) =>
      f.type === 'field' ? [String(f.value)] : [],
    );
  };
  const flag = (name: string) => values(name)[0] === 'true';
  const text = (name: string) => values(name)[0];
  if (!preview && (text('entityType') !== undefined || text('entityId') !== undefined)) {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', [
      { path: 'body.entityType', message: 'unknown field' },
    ]);
  }
  // `tables` as one comma-separated field ("loanTypes,unions") or the field repeated; checked before the file is
  // written.
  const tables = values('tables')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const selection = readSelection({
    tables: tables.length > 0 ? tables : undefined,
    withDependencies: flag('withDependencies'),
    entityType: text('entityType'),
    entityId: text('entityId'),
  });
  const saved = await saveUpload(part.file, dir, operationId, () => part.file.truncated);
  return {
    source: { kind: 'file', ...saved },
    skipSafetyBackup: flag('skipSafetyBackup'),
    allowNoAdmin: flag('allowNoAdmin'),
    ...selection,
  };
}

/**
 * The multipart parser (busboy) rejects a broken body with a bare Error (no status, no code): that is
 * the client's mistake, a 400. Errors with a status (fastify's, the multipart plugin's limits), domain
 * errors and system errors (a full disk has a `syscall`) keep their own meaning.
 */
function malformedMultipart(err: unknown): never {
  const e = err as { statusCode?: unknown; code?: unknown; syscall?: unknown } | null;
  if (
    err instanceof Error &&
    !(err instanceof AppError) &&
    e?.statusCode === undefined &&
    e?.code === undefined &&
    e?.syscall === undefined
  ) {
    throw new AppError(
      'VALIDATION_ERROR',
      `The multipart body is malformed (${err.message.slice(0, 200)}); upload the backup as field "file"`,
    );
  }
  throw err;
}

/**
 * Reads the three accepted shapes of a restore request: multipart field `file` (send the fields
 * `skipSafetyBackup` and `allowNoAdmin`, as `true`, before it), JSON `{ backupData }` (quick-checked, then written like
 * an upload),
 * or JSON `{ backupId }`. Files land in `dir` named after `operationId`.
 * @throws AppError VALIDATION_ERROR, INVALID_BACKUP_FILE, UNSUPPORTED_BACKUP_VERSION
 */
export async function readRestoreInput(
  request: FastifyRequest,
  dir: string,
  operationId: string,
  opts: { preview?: boolean } = {},
): Promise<RestoreInput> {
  const preview = opts.preview === true;
  if (request.isMultipart()) return readUpload(request, dir, operationId, preview).catch(malformedMultipart);
  const parsed = (preview ? previewJsonBody : restoreJsonBody).safeParse(request.body ?? {});
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message }));
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', details);
  }
  const { backupId, backupData, skipSafetyBackup, allowNoAdmin } = parsed.data;
  const selection = readSelection(parsed.data);
  if (backupId) return { source: { kind: 'backup', backupId }, skipSafetyBackup, allowNoAdmin, ...selection };
  checkBackupDocument(backupData);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${operationId}.upload.tmp`);
  const path = join(dir, `${operationId}.json`);
  await writeFile(tmp, JSON.stringify(backupData), { flag: 'wx' });
  await rename(tmp, path).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
  return { source: { kind: 'file', path, compressed: false }, skipSafetyBackup, allowNoAdmin, ...selection };
}
