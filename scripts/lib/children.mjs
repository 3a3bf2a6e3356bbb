// Long-running child processes with prefixed output, for `npm start`. Pure Node.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { killAndWait } from './proc.mjs';

/**
 * Spawns `cmd args` with every output line prefixed by `[name] ` (stdout to stdout, stderr to stderr).
 * The child shares our process group, so a terminal Ctrl-C reaches it as well as us; callers still send
 * SIGTERM themselves (see {@link stopChild}) so a plain `kill <our pid>` stops it too.
 * `onExit(code, signal)` is called once when it exits.
 */
export function spawnPrefixed(name, cmd, args, { cwd, env, onExit }) {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tag = `[${name}] `;
  readline.createInterface({ input: child.stdout }).on('line', (l) => process.stdout.write(`${tag}${l}\n`));
  readline.createInterface({ input: child.stderr }).on('line', (l) => process.stderr.write(`${tag}${l}\n`));
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      onExit?.(code, signal);
    });
    child.once('error', (err) => {
      process.stderr.write(`${tag}could not start: ${err.message}\n`);
      resolve({ code: 1, signal: null });
      onExit?.(1, null);
    });
  });
  return child;
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `timeoutMs`. Safe to call on an exited child. */
export async function stopChild(child, timeoutMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  await Promise.race([child.exited, killAndWait(child.pid, { signal: 'SIGTERM', timeoutMs })]);
  await child.exited;
}
