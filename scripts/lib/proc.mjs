// Child-process helpers for the provisioning scripts. Pure Node: these run before `npm ci`.
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs a command to completion and resolves with its exit code and captured output.
 * Rejects only when the command cannot be started (e.g. ENOENT) or when `timeoutMs` passes
 * (the process is then killed with SIGKILL). A non-zero exit resolves; use {@link runOrThrow} to fail on it.
 * With `inherit: true` output goes to this process's stdout/stderr and is not captured.
 * With `detached: true` the command gets its own session, so a terminal Ctrl-C does not reach it
 * (daemons such as `pg_ctl start` must not share our process group). `onSpawn(child)` receives the ChildProcess.
 */
export function run(cmd, args = [], { cwd, env, inherit = false, timeoutMs, input, detached = false, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
      detached,
    });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    if (input !== undefined) child.stdin.end(input);
    let timer;
    if (timeoutMs) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), signal, stdout, stderr });
    });
  });
}

/** Like {@link run} but rejects with the command's output when it exits non-zero. */
export async function runOrThrow(cmd, args = [], opts = {}) {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) {
    const out = `${res.stdout}\n${res.stderr}`.trim();
    throw new Error(`\`${cmd} ${args.join(' ')}\` exited with ${res.code}${out ? `:\n${out}` : ''}`);
  }
  return res;
}

/** Full path of an executable found on PATH (or the given absolute path if executable), else null. */
export function which(cmd) {
  const candidates = cmd.includes('/')
    ? [cmd]
    : (process.env.PATH ?? '')
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, cmd));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* try the next one */
    }
  }
  return null;
}

/**
 * True when a process with this pid exists and has not exited (signal 0 probe; EPERM still means it exists).
 * A zombie counts as exited: daemons are reparented to init, which may reap them a second later.
 */
export function isPidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust the probe
  }
}

/** The command line of a live process (Linux /proc), or '' when unknown. Guards against pid reuse. */
export function processCommandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes (then throws `message`). */
export async function waitFor(check, { timeoutMs = 30_000, intervalMs = 100, message = 'timed out' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(message);
    await sleep(intervalMs);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The outcome of `promise`, or, when `ms` pass first, that of `onTimeout()` (what it returns is the answer, what it
 * throws the rejection); the timer is cleared either way. The scripts' twin of core's `settleWithin` (these files
 * run before `npm ci`, so they cannot import the TypeScript packages). Nothing is cancelled.
 */
export async function settleWithin(promise, ms, onTimeout) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends `signal` to a process and waits until it is gone; escalates to SIGKILL after `timeoutMs`.
 * Resolves true when the process is gone.
 */
export async function killAndWait(pid, { signal = 'SIGTERM', timeoutMs = 15_000 } = {}) {
  if (!isPidAlive(pid)) return true;
  try {
    process.kill(pid, signal);
  } catch {
    return !isPidAlive(pid);
  }
  try {
    await waitFor(() => !isPidAlive(pid), { timeoutMs, intervalMs: 50 });
    return true;
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await sleep(100);
    return !isPidAlive(pid);
  }
}
