import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError, EXIT } from './exit-codes.js';

/** What `login` keeps: the API's address and a bearer token. Never the password. */
export interface Credentials {
  url: string;
  token: string;
  username: string;
  expiresAt: string | null;
}

/**
 * `MP_BACKUP_CREDENTIALS`, else `$XDG_CONFIG_HOME/mp-backup/credentials.json`, else
 * `~/.config/mp-backup/credentials.json`.
 */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MP_BACKUP_CREDENTIALS) return path.resolve(env.MP_BACKUP_CREDENTIALS);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'mp-backup', 'credentials.json');
}

/** Writes the credentials readable by their owner only (0600), in a folder only they can enter (0700). */
export async function saveCredentials(file: string, credentials: Credentials): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created: an existing file is tightened too.
  await chmod(file, 0o600);
}

export async function loadCredentials(file: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(
      `Not logged in: run \`mp-backup login --url <api address>\` first (no credentials at ${file})`,
      EXIT.AUTH,
    );
  }
  const parsed = JSON.parse(text) as Partial<Credentials>;
  if (typeof parsed.url !== 'string' || typeof parsed.token !== 'string') {
    throw new CliError(`The credentials file ${file} is not usable: run \`mp-backup login\` again`, EXIT.AUTH);
  }
  return { url: parsed.url, token: parsed.token, username: parsed.username ?? '', expiresAt: parsed.expiresAt ?? null };
}

export async function forgetCredentials(file: string): Promise<void> {
  await rm(file, { force: true });
}
