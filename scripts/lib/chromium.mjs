// Debian's Chromium for the browser tests (playwright-core drives it; Playwright's own browser download cannot
// work here). Pure Node + apt-get.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { runOrThrow, which } from './proc.mjs';

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * Path of Debian's `chromium`, installing the package first when it is missing
 * (`apt-get update && apt-get install -y --no-install-recommends chromium`, as root), as the Redis fallback does.
 * Set CHROMIUM_PATH to use another binary.
 */
export async function ensureChromiumInstalled({ log = () => {} } = {}) {
  if (process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH)) return process.env.CHROMIUM_PATH;
  const found = which('chromium') ?? which('/usr/bin/chromium');
  if (found) return found;
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    throw new Error(
      'chromium is not installed and cannot be installed automatically (needs root and apt-get). ' +
        "Install Debian's chromium package, or set CHROMIUM_PATH.",
    );
  }
  log('chromium missing: installing Debian package chromium (apt-get)');
  const addedPolicy = !existsSync(POLICY_RC_D);
  if (addedPolicy) writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runOrThrow('apt-get', ['update'], { env, timeoutMs: 300_000 });
    await runOrThrow('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env, timeoutMs: 600_000 });
  } finally {
    if (addedPolicy) rmSync(POLICY_RC_D, { force: true });
  }
  const installed = which('chromium');
  if (!installed) throw new Error('apt-get installed chromium but it is not on PATH');
  return installed;
}
