// Docker detection and Docker Compose for `npm start`. Pure Node + the docker CLI.
import { run, runOrThrow, which } from './proc.mjs';

/**
 * True when a Docker engine answers `docker info` within `timeoutMs`.
 * False (never throws, never hangs past the timeout) when the CLI is missing or no engine runs —
 * here the CLI exists but the socket does not, and it fails within milliseconds.
 */
export async function hasDockerEngine({ timeoutMs = 3000 } = {}) {
  if (!which('docker')) return false;
  try {
    const res = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs });
    return res.code === 0 && res.stdout.trim() !== '';
  } catch {
    return false;
  }
}

/** True when the Compose v2 plugin is installed (`docker compose version` succeeds). */
export async function hasDockerCompose({ timeoutMs = 5000 } = {}) {
  try {
    return (await run('docker', ['compose', 'version'], { timeoutMs })).code === 0;
  } catch {
    return false;
  }
}

/**
 * `docker compose up -d --wait <services>` in `cwd` (waits for health checks).
 * `env` must carry every variable the compose file requires (`${VAR:?}`), even for services not started.
 */
export async function composeUp({ cwd, env, services }) {
  await runOrThrow('docker', ['compose', 'up', '-d', '--wait', ...services], {
    cwd,
    env,
    timeoutMs: 600_000,
    inherit: true,
  });
}

/** `docker compose stop <services>`: stops the containers, keeping their volumes. */
export async function composeStop({ cwd, env, services }) {
  await run('docker', ['compose', 'stop', ...services], { cwd, env, timeoutMs: 120_000, inherit: true });
}
