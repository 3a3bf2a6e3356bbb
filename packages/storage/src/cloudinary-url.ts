/** The parts of a CLOUDINARY_URL the driver uses. */
export interface CloudinaryCredentials {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  /** API base, e.g. `https://api.cloudinary.com` (default) or a local emulator `http://127.0.0.1:PORT`. */
  uploadPrefix: string;
}

const DEFAULT_UPLOAD_PREFIX = 'https://api.cloudinary.com';

/**
 * Parses `cloudinary://<key>:<secret>@<cloud>[?upload_prefix=<url-encoded base>]`. Other query
 * parameters are ignored. Errors name the problem but never echo the URL (it holds the secret).
 */
export function parseCloudinaryUrl(value: string): CloudinaryCredentials {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('CLOUDINARY_URL is not a valid URL (expected cloudinary://key:secret@cloud)');
  }
  if (url.protocol !== 'cloudinary:') throw new Error('CLOUDINARY_URL must start with cloudinary://');
  const cloudName = url.hostname;
  const apiKey = decodeURIComponent(url.username);
  const apiSecret = decodeURIComponent(url.password);
  if (!cloudName || !apiKey || !apiSecret) {
    throw new Error(
      'CLOUDINARY_URL must hold an API key, an API secret and a cloud name (cloudinary://key:secret@cloud)',
    );
  }
  const uploadPrefix = (url.searchParams.get('upload_prefix') ?? DEFAULT_UPLOAD_PREFIX).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(uploadPrefix)) {
    throw new Error('CLOUDINARY_URL upload_prefix must be an http(s) origin such as https://api.cloudinary.com');
  }
  return { cloudName, apiKey, apiSecret, uploadPrefix };
}
