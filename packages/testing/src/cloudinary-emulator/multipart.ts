import { EmulatorHttpError } from './http-error.js';

export interface MultipartBody {
  /** Field values by name; a name sent several times (`tags[]`) keeps every value. */
  fields: Map<string, string[]>;
  file?: { filename: string; data: Buffer };
}

/**
 * Parses a buffered `multipart/form-data` body as the Cloudinary SDK writes it (fields first, the
 * `file` part last). The file's bytes are a view into `body`, not a copy.
 */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartBody {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw new EmulatorHttpError(400, 'Expected a multipart/form-data body');
  const delimiter = Buffer.from(`--${boundary}`);
  const partEnd = Buffer.from(`\r\n--${boundary}`);
  const fields = new Map<string, string[]>();
  let file: MultipartBody['file'];

  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new EmulatorHttpError(400, 'Malformed multipart body: no boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') break;
    if (body[pos] === 13 && body[pos + 1] === 10) pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headerEnd < 0) throw new EmulatorHttpError(400, 'Malformed multipart body: part without headers');
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const start = headerEnd + 4;
    const end = body.indexOf(partEnd, start);
    if (end < 0) throw new EmulatorHttpError(400, 'Malformed multipart body: unterminated part');
    const name = /;\s*name="([^"]*)"/i.exec(headers)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) throw new EmulatorHttpError(400, 'Malformed multipart body: part without a name');
    if (filename !== undefined) {
      file = { filename, data: body.subarray(start, end) };
    } else {
      const values = fields.get(name) ?? [];
      values.push(body.subarray(start, end).toString('utf8'));
      fields.set(name, values);
    }
    pos = end + 2;
  }
  return { fields, ...(file ? { file } : {}) };
}
