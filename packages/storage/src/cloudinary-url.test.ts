import { describe, expect, it } from 'vitest';
import { toCloudError } from './cloudinary-errors.js';
import { parseCloudinaryUrl } from './cloudinary-url.js';

describe('parseCloudinaryUrl', () => {
  it('reads key, secret, cloud and the default API base', () => {
    expect(parseCloudinaryUrl('cloudinary://1234:s%2Fecret@my-cloud')).toEqual({
      cloudName: 'my-cloud',
      apiKey: '1234',
      apiSecret: 's/ecret',
      uploadPrefix: 'https://api.cloudinary.com',
    });
  });

  it('reads an upload_prefix pointing at an emulator', () => {
    expect(parseCloudinaryUrl('cloudinary://k:s@c?upload_prefix=http%3A%2F%2F127.0.0.1%3A9000%2F').uploadPrefix).toBe(
      'http://127.0.0.1:9000',
    );
  });

  it.each([
    'https://k:s3cr3t@c',
    'cloudinary://k@c',
    'cloudinary://k:s3cr3t@c?upload_prefix=ftp%3A%2F%2Fx',
    'not a url s3cr3t',
  ])('refuses %j without echoing it', (url) => {
    expect(() => parseCloudinaryUrl(url)).toThrow(/CLOUDINARY_URL/);
    try {
      parseCloudinaryUrl(url);
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cr3t');
    }
  });
});

describe('toCloudError', () => {
  it('keeps only status and message of an Admin API rejection, scrubbing the secret', () => {
    const raw = {
      error: { message: 'Invalid credentials for key:s3cr3t', http_code: 401 },
      request_options: { auth: 'key:s3cr3t' },
      query_params: 'x',
    };
    const err = toCloudError('list', raw, ['s3cr3t', 'key:s3cr3t']);
    expect(err).toMatchObject({
      code: 'STORAGE_CLOUD_ERROR',
      status: 401,
      retryable: false,
      message: 'Cloudinary list failed with HTTP 401: Invalid credentials for [redacted]',
    });
    expect(JSON.stringify(err)).not.toContain('s3cr3t');
    expect(err.cause).toBeUndefined();
  });

  it('marks 404 as not found and timeouts, rate limits and 5xx as retryable', () => {
    expect(toCloudError('download', { message: 'Resource not found', http_code: 404 }, [])).toMatchObject({
      code: 'STORAGE_NOT_FOUND',
      retryable: false,
    });
    for (const status of [420, 429, 499, 500, 503])
      expect(toCloudError('upload', { message: 'x', http_code: status }, []).retryable).toBe(true);
    expect(
      toCloudError('upload', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), []),
    ).toMatchObject({
      retryable: true,
      message: 'Cloudinary upload failed: connect ECONNREFUSED (ECONNREFUSED)',
    });
  });
});
