// The scaffolding `npm start`, `npm test` and `npm run bench` share: signal handlers, the step in flight, the
// services to stop, one idempotent teardown and the exit code. Pure Node: these scripts run before `npm ci`.
import { stopAll } from './services.mjs';
import { settleWithin } from './proc.mjs';

/** Exit code for an error: its own `exitCode` when it carries a positive one (a failed step's), else 1. */
export const exitCodeOf = (err) => (typeof err?.exitCode === 'number' && err.exitCode > 0 ? err.exitCode : 1);

/**
 * A script's ending, owned in one place. `createScript` installs the signal handlers at once; `script.run(main)`
 * runs the body:
 * - SIGINT and SIGTERM call `finish(signalExitCodes[signal], signal)`;
 * - an error from `main` is logged as `error: <message>` and ends the script with {@link exitCodeOf};
 * - when `main` returns, the script ends with its return value as exit code (0 when none), unless
 *   `exitWhenDone` is false (`npm start` keeps running its children until a signal).
 * `finish` runs once however often it is called: `beforeStop({ code, signal })` (stop the step or children in
 * flight), then every tracked service in reverse order, then `afterStop()`, then `process.exit(code)`.
 *
 * `step(fn)` runs one provisioning step and remembers it, so a teardown can wait for it (`waitForStep(ms)`)
 * before stopping the services it may be starting; once stopping, it refuses new steps (throws).
 * `track(handle)` records a started service (`{ stop() }`) for the teardown. All are plain functions, safe to
 * destructure.
 */
export function createScript({
  log,
  beforeStop = async () => {},
  afterStop = async () => {},
  signalExitCodes = { SIGINT: 130, SIGTERM: 143 },
}) {
  const services = [];
  let pending = Promise.resolve();
  let stopping = null;

  const step = (fn) => {
    if (stopping) throw new Error('stopping');
    const promise = fn();
    pending = promise.catch(() => {});
    return promise;
  };
  /** Resolves when the step in flight has settled, or after `ms` at most. */
  const waitForStep = (ms) => settleWithin(pending, ms, () => undefined);
  const track = (handle) => {
    services.push(handle);
    return handle;
  };
  const finish = (code, signal) => {
    if (stopping) {
      if (signal) log('already stopping…');
      return stopping;
    }
    stopping = (async () => {
      await beforeStop({ code, signal });
      await stopAll(services, log);
      await afterStop();
      process.exit(code);
    })();
    return stopping;
  };
  const run = async (main, { exitWhenDone = true } = {}) => {
    let code;
    try {
      code = await main();
      if (!exitWhenDone) return;
    } catch (err) {
      log(`error: ${err?.message ?? err}`);
      code = exitCodeOf(err);
    }
    await finish(code ?? 0);
  };

  for (const signal of Object.keys(signalExitCodes)) {
    process.on(signal, () => void finish(signalExitCodes[signal], signal));
  }
  return { step, waitForStep, track, finish, run, isStopping: () => stopping !== null };
}
